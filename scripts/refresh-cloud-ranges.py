#!/usr/bin/env python3
"""Rebuilds crates/auditlens-core/data/cloud-ranges.txt from the cloud providers' own files.

The snapshot lets `k8s.network.system_identity_public_ip` tell a node's or a control-plane
component's cloud address from any other public address without a network connection. Run on a
machine with internet access, then rebuild (the core embeds the file):

    python3 scripts/refresh-cloud-ranges.py                  # download, merge, write
    python3 scripts/refresh-cloud-ranges.py --from DIR       # the files already downloaded

With --from, DIR holds the files under the names the download would give them:
aws.json (ip-ranges.json), google-goog.json, google-cloud.json, and any number of
azure-*.json (service tags) and azure-*.csv (Microsoft's public IP list).
"""

import argparse
import csv
import datetime
import glob
import io
import ipaddress
import json
import os
import re
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "auditlens-core", "data", "cloud-ranges.txt")

AWS = "https://ip-ranges.amazonaws.com/ip-ranges.json"
GOOGLE = {
    "google-goog.json": "https://www.gstatic.com/ipranges/goog.json",
    "google-cloud.json": "https://www.gstatic.com/ipranges/cloud.json",
}
# Microsoft's download pages for the service tags (public, US government, China, Germany) and
# its public IP list; the file behind each page changes name every week.
AZURE_PAGES = {
    "azure-public.json": ("56519", r"ServiceTags_Public_\d+\.json"),
    "azure-usgov.json": ("57063", r"ServiceTags_AzureGovernment_\d+\.json"),
    "azure-china.json": ("57062", r"ServiceTags_China_\d+\.json"),
    "azure-germany.json": ("57064", r"ServiceTags_AzureGermany_\d+\.json"),
    "azure-public-ips.csv": ("53602", r"msft-public-ips\.csv"),
}


def fetch(url):
    request = urllib.request.Request(url, headers={"User-Agent": "auditlens-refresh-cloud-ranges"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def download(folder):
    files = {"aws.json": fetch(AWS)}
    for name, url in GOOGLE.items():
        files[name] = fetch(url)
    for name, (page_id, pattern) in AZURE_PAGES.items():
        page = fetch(f"https://www.microsoft.com/en-us/download/details.aspx?id={page_id}").decode(
            "utf-8", "replace"
        )
        found = re.search(r'https://download\.microsoft\.com/[^"\'\s]*' + pattern, page)
        if found:
            files[name] = fetch(found.group(0))
        elif name == "azure-public.json":
            sys.exit(f"refresh-cloud-ranges: no {pattern} link on download page {page_id}")
        else:
            # The sovereign clouds' lists come and go (Azure Germany was retired).
            print(f"refresh-cloud-ranges: no {pattern} on page {page_id}; skipped", file=sys.stderr)
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def read_json(path):
    with open(path, "rb") as f:
        return json.load(f)


def aws_prefixes(folder):
    data = read_json(os.path.join(folder, "aws.json"))
    yield from (p["ip_prefix"] for p in data.get("prefixes", []) if p.get("ip_prefix"))
    yield from (p["ipv6_prefix"] for p in data.get("ipv6_prefixes", []) if p.get("ipv6_prefix"))


def google_prefixes(folder):
    for name in GOOGLE:
        data = read_json(os.path.join(folder, name))
        for p in data.get("prefixes", []):
            for key in ("ipv4Prefix", "ipv6Prefix"):
                if p.get(key):
                    yield p[key]


def azure_prefixes(folder):
    for path in sorted(glob.glob(os.path.join(folder, "azure-*.json"))):
        for value in read_json(path).get("values", []):
            yield from value.get("properties", {}).get("addressPrefixes", []) or []
    for path in sorted(glob.glob(os.path.join(folder, "azure-*.csv"))):
        with open(path, newline="", encoding="utf-8-sig") as f:
            for row in csv.reader(io.StringIO(f.read())):
                if row and re.match(r"^[0-9a-fA-F:.]+/\d+$", row[0].strip()):
                    yield row[0].strip()


def merged(prefixes):
    networks = [ipaddress.ip_network(p.strip(), strict=False) for p in prefixes]
    out = []
    for version in (4, 6):
        out += list(ipaddress.collapse_addresses(n for n in networks if n.version == version))
    return [str(n) for n in out]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="folder", help="read downloaded files from this folder")
    parser.add_argument("--date", help="the date the files were taken (default: today, UTC)")
    parser.add_argument("-o", "--output", default=OUT)
    args = parser.parse_args()
    folder = args.folder
    if folder is None:
        folder = os.path.join(ROOT, "target", "cloud-ranges")
        os.makedirs(folder, exist_ok=True)
        download(folder)
    taken = args.date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    sections = [
        ("aws", merged(aws_prefixes(folder))),
        ("google", merged(google_prefixes(folder))),
        ("azure", merged(azure_prefixes(folder))),
    ]
    for name, blocks in sections:
        if not blocks:
            sys.exit(f"refresh-cloud-ranges: no ranges for {name}; the snapshot is left as it was")
    lines = [
        "# The cloud providers' published IP ranges, merged into the fewest CIDR blocks.",
        f"# Taken: {taken} (the providers' own files, by scripts/refresh-cloud-ranges.py).",
        "# aws: ip-ranges.amazonaws.com/ip-ranges.json; google: www.gstatic.com/ipranges/goog.json",
        "# and cloud.json; azure: Microsoft's Azure service tags (public, government, China, Germany)",
        "# and its public IP list.",
    ]
    for name, blocks in sections:
        lines.append(f"[{name}]")
        lines += blocks
    with open(args.output, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    counts = ", ".join(f"{name} {len(blocks)}" for name, blocks in sections)
    print(f"refresh-cloud-ranges: {args.output}: {counts} blocks, taken {taken}")


if __name__ == "__main__":
    main()
