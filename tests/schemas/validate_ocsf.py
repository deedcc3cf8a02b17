"""Checks OCSF records (one JSON object per line) against the OCSF schema they name.

Each record must be a valid Detection Finding (class 2004) of the schema version in its
`metadata.version`, as the OCSF project publishes it (the `ocsf-json-schema` package carries
the released schemas and turns a class into JSON Schema). Its evidence must also hold a valid
API Activity (class 6003): the evidence's actor, api, src_endpoint, http_request and resources,
with the activity its related event names, are checked as an API Activity record of the same
version.

    python validate_ocsf.py FILE...

Prints one line per problem and a count; exits 1 when any record fails.
"""

import json
import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

_validators = {}


def validator(version, class_name):
    key = (version, class_name)
    if key not in _validators:
        schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
        _validators[key] = Draft202012Validator(schema.get_class_schema(class_name))
    return _validators[key]


def api_activity(record):
    """The record's evidence as an API Activity record, or None when it names none."""
    evidence = (record.get("evidences") or [{}])[0]
    related = (record.get("finding_info", {}).get("related_events") or [{}])[0]
    type_uid = related.get("type_uid")
    if not isinstance(type_uid, int) or type_uid // 100 != 6003:
        return None
    activity = {
        "activity_id": type_uid % 100,
        "category_uid": 6,
        "class_uid": 6003,
        "type_uid": type_uid,
        "severity_id": 1,
        "time": record.get("time"),
        "metadata": record.get("metadata"),
        "src_endpoint": evidence.get("src_endpoint", {}),
    }
    for field in ("actor", "api", "http_request", "resources"):
        if field in evidence:
            activity[field] = evidence[field]
    return activity


def problems_of(record):
    version = record.get("metadata", {}).get("version")
    if record.get("class_uid") != 2004:
        return [f"class_uid is {record.get('class_uid')}, not 2004"]
    found = [
        f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
        for e in validator(version, "detection_finding").iter_errors(record)
    ]
    activity = api_activity(record)
    if activity is None:
        found.append("no related event of class 6003 (API Activity)")
        return found
    # API Activity requires a source endpoint; an event logged without sourceIPs has none, and
    # the record says so (no source_ips in unmapped). That alone is not a fault of the record.
    logged_without_source = not record.get("unmapped", {}).get("auditlens", {}).get("source_ips")
    for e in validator(version, "api_activity").iter_errors(activity):
        if logged_without_source and list(e.absolute_path) == ["src_endpoint"]:
            continue
        found.append(
            f"evidence as API Activity: {'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
        )
    return found


def main(paths):
    records = problems = 0
    versions = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                records += 1
                try:
                    record = json.loads(line)
                except ValueError as e:
                    print(f"{path}:{number}: not JSON: {e}")
                    problems += 1
                    continue
                versions.add(record.get("metadata", {}).get("version"))
                for problem in problems_of(record):
                    print(f"{path}:{number}: {problem}")
                    problems += 1
    print(f"OCSF {', '.join(sorted(map(str, versions)))}: {records} records, {problems} problems")
    return 1 if problems or not records else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
