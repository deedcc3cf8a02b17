#!/usr/bin/env python3
"""Replays audit logs through RBAC objects with a second, separate evaluator.

    python3 scripts/rbac-replay.py RBAC.yaml LOG [LOG...] [--identity NAME]...

RBAC.yaml is what `auditlens rbac` writes (or any manifest of Roles, ClusterRoles and their
bindings, YAML documents or a kubectl List). Each request of the logs is put to the objects as
the API server's RBAC authorizer would be asked (the impersonated user and its groups, a create
without its name, a path without its query) and the result compared with the log:

  allowed   requests the log shows allowed, and how many of them the RBAC allows
  refused   requests the log shows refused (401/403 or decision "forbid"), and how many of them
            the RBAC allows anyway, with the first few listed

This evaluator shares no code with auditlens: it is written from the API server's rules
(plugin/pkg/auth/authorizer/rbac) in Python, to check the Rust one from the outside. It needs
PyYAML. Identities default to every subject the objects bind.
"""

import argparse
import gzip
import json
import sys
from collections import defaultdict

import yaml


def documents(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith(("{", "[")):
        loaded = json.loads(text)
        found = loaded if isinstance(loaded, list) else [loaded]
    else:
        found = list(yaml.safe_load_all(text))
    out = []
    for doc in found:
        if not doc:
            continue
        if doc.get("kind", "").endswith("List") and "items" in doc:
            out.extend(i for i in doc["items"] if i)
        else:
            out.append(doc)
    return out


class Rbac:
    def __init__(self, objects):
        self.roles, self.cluster_roles = {}, {}
        self.bindings, self.cluster_bindings = defaultdict(list), []
        for o in objects:
            meta = o.get("metadata") or {}
            kind = o.get("kind")
            if kind == "Role":
                self.roles[(meta.get("namespace") or "default", meta.get("name"))] = o.get("rules") or []
            elif kind == "ClusterRole":
                self.cluster_roles[meta.get("name")] = o.get("rules") or []
            elif kind == "RoleBinding":
                self.bindings[meta.get("namespace") or "default"].append(o)
            elif kind == "ClusterRoleBinding":
                self.cluster_bindings.append(o)

    def subjects(self):
        names = set()
        for b in self.cluster_bindings + [b for bs in self.bindings.values() for b in bs]:
            for s in b.get("subjects") or []:
                if s.get("kind") == "User":
                    names.add(s.get("name"))
                elif s.get("kind") == "ServiceAccount":
                    ns = s.get("namespace") or (b.get("metadata") or {}).get("namespace")
                    names.add("system:serviceaccount:%s:%s" % (ns, s.get("name")))
        return names

    @staticmethod
    def names_user(subject, user, groups, namespace):
        kind = subject.get("kind")
        if kind == "User":
            return subject.get("name") == user
        if kind == "Group":
            return subject.get("name") in groups
        if kind == "ServiceAccount":
            ns = subject.get("namespace") or namespace
            return bool(ns) and user == "system:serviceaccount:%s:%s" % (ns, subject.get("name"))
        return False

    def rules(self, binding, namespace):
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            return self.cluster_roles.get(ref.get("name"), [])
        if ref.get("kind") == "Role" and namespace:
            return self.roles.get((namespace, ref.get("name")), [])
        return []

    def allows(self, req):
        candidates = [(b, "") for b in self.cluster_bindings]
        if req["namespace"]:
            candidates += [(b, req["namespace"]) for b in self.bindings.get(req["namespace"], [])]
        for binding, ns in candidates:
            if any(self.names_user(s, req["user"], req["groups"], ns) for s in binding.get("subjects") or []):
                if any(rule_allows(r, req) for r in self.rules(binding, ns)):
                    return True
        return False


def rule_allows(rule, req):
    verbs = rule.get("verbs") or []
    if "*" not in verbs and req["verb"] not in verbs:
        return False
    if not req["resource_request"]:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == req["path"] or (url.endswith("*") and req["path"].startswith(url.rstrip("*"))):
                return True
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and req["group"] not in groups:
        return False
    combined = req["resource"] + ("/" + req["subresource"] if req["subresource"] else "")
    ok = False
    for r in rule.get("resources") or []:
        if r == "*" or r == combined or (req["subresource"] and r == "*/" + req["subresource"]):
            ok = True
            break
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    return not names or req["name"] in names


def events(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def outcome(e):
    decision = (e.get("annotations") or {}).get("authorization.k8s.io/decision")
    if decision == "allow":
        return "allowed"
    if decision == "forbid":
        return "refused"
    code = (e.get("responseStatus") or {}).get("code") or 0
    if code in (401, 403):
        return "refused"
    if code in (0, 429) or code >= 500:
        return None
    return "allowed"


def request(e):
    who = e.get("impersonatedUser") or e.get("user") or {}
    ref = e.get("objectRef")
    verb = e.get("verb", "")
    return {
        "user": who.get("username", ""),
        "groups": who.get("groups") or [],
        "verb": verb,
        "resource_request": ref is not None,
        "group": (ref or {}).get("apiGroup", ""),
        "resource": (ref or {}).get("resource", ""),
        "subresource": (ref or {}).get("subresource", ""),
        "namespace": (ref or {}).get("namespace", ""),
        "name": "" if verb == "create" else (ref or {}).get("name", ""),
        "path": e.get("requestURI", "").split("?")[0],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rbac")
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--identity", action="append", default=[])
    args = parser.parse_args()
    rbac = Rbac(documents(args.rbac))
    chosen = set(args.identity) or rbac.subjects()
    seen, totals = {}, defaultdict(lambda: {"allowed": 0, "covered": 0, "refused": 0, "granted": 0})
    examples = []
    for path in args.logs:
        for e in events(path):
            key = e.get("auditID")
            said = outcome(e)
            if key in seen and seen[key] is not None:
                continue
            if e.get("stage") not in ("ResponseComplete", "Panic") or said is None:
                continue
            seen[key] = said
            req = request(e)
            if req["user"] not in chosen:
                continue
            t = totals[req["user"]]
            allowed = rbac.allows(req)
            if said == "allowed":
                t["allowed"] += 1
                t["covered"] += allowed
            else:
                t["refused"] += 1
                t["granted"] += allowed
                if allowed and len(examples) < 10:
                    examples.append((req["user"], req["verb"], req["resource"] or req["path"], req["namespace"], req["name"]))
    all_t = {k: sum(t[k] for t in totals.values()) for k in ("allowed", "covered", "refused", "granted")}
    for user in sorted(totals):
        t = totals[user]
        print("%-70s allowed %6d covered %6d  refused %4d granted %3d" % (user[:70], t["allowed"], t["covered"], t["refused"], t["granted"]))
    print("identities %d: allowed %d, covered %d (%.2f %%); refused %d, granted anyway %d" % (
        len(totals), all_t["allowed"], all_t["covered"], 100.0 * all_t["covered"] / max(1, all_t["allowed"]),
        all_t["refused"], all_t["granted"]))
    for ex in examples:
        print("refused but granted:", ex)
    return 0 if all_t["covered"] == all_t["allowed"] else 1


if __name__ == "__main__":
    sys.exit(main())
