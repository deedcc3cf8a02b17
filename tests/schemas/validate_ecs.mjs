// Checks ECS documents (one JSON object per line) against the Elastic Common Schema's own field
// definitions (the @elastic/ecs package of the version auditlens writes): every field outside
// the two documented custom namespaces must be an ECS field, of its type (keyword and text as
// strings, numbers as numbers, ip as an address, date as a time), an array only where ECS
// allows it, and a value ECS allows where it lists them (event.kind, category, type, outcome),
// with each event.type one that its event.category expects.
//
//   node validate_ecs.mjs FILE...
// Prints one line per problem and a count; exits 1 when any document fails.

import fs from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { EcsFlat, EcsVersion } = require("@elastic/ecs/build/commonjs/index.js");

/** Fields ECS leaves to integrations and producers, documented in docs/outputs.md. */
const CUSTOM = ["kubernetes.audit.", "auditlens."];

/** The leaves of a document as [dotted name, value]; arrays of scalars are one leaf. */
function leaves(value, prefix = "", out = []) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push([prefix, value]);
  }
  return out;
}

function checkType(field, definition, value) {
  const values = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && !(definition.normalize ?? []).includes("array") && value.length > 1) {
    // Elasticsearch takes arrays for any field; ECS marks the fields meant to hold several.
    return `${field}: several values, but ECS does not mark it as an array`;
  }
  for (const v of values) {
    switch (definition.type) {
      case "keyword":
      case "constant_keyword":
      case "wildcard":
      case "match_only_text":
      case "text":
        if (typeof v !== "string") return `${field}: ${JSON.stringify(v)} is not a string (${definition.type})`;
        break;
      case "long":
      case "integer":
      case "short":
      case "byte":
        if (!Number.isInteger(v)) return `${field}: ${JSON.stringify(v)} is not an integer (${definition.type})`;
        break;
      case "float":
      case "double":
      case "scaled_float":
      case "half_float":
        if (typeof v !== "number") return `${field}: ${JSON.stringify(v)} is not a number (${definition.type})`;
        break;
      case "ip":
        if (typeof v !== "string" || net.isIP(v) === 0) return `${field}: ${JSON.stringify(v)} is not an IP address`;
        break;
      case "date":
        if (typeof v !== "string" || Number.isNaN(Date.parse(v))) return `${field}: ${JSON.stringify(v)} is not a date`;
        break;
      case "boolean":
        if (typeof v !== "boolean") return `${field}: ${JSON.stringify(v)} is not a boolean`;
        break;
      default:
        return `${field}: type ${definition.type} is not checked here`;
    }
    if (definition.allowed_values && !definition.allowed_values.some((a) => a.name === v)) {
      return `${field}: ${JSON.stringify(v)} is not one of ECS's values`;
    }
  }
  return null;
}

let documents = 0;
let problems = 0;
for (const file of process.argv.slice(2)) {
  const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
  lines.forEach((line, index) => {
    documents += 1;
    const where = `${file}:${index + 1}`;
    let doc;
    try {
      doc = JSON.parse(line);
    } catch (e) {
      problems += 1;
      console.log(`${where}: not JSON: ${e.message}`);
      return;
    }
    const found = [];
    for (const [field, value] of leaves(doc)) {
      if (CUSTOM.some((c) => field.startsWith(c))) continue;
      const definition = EcsFlat[field];
      if (!definition) {
        found.push(`${field}: not an ECS ${EcsVersion} field`);
        continue;
      }
      const wrong = checkType(field, definition, value);
      if (wrong) found.push(wrong);
    }
    if (doc.ecs?.version !== EcsVersion) found.push(`ecs.version is ${doc.ecs?.version}, not ${EcsVersion}`);
    for (const required of ["@timestamp", "event.kind", "event.category", "event.type", "message"]) {
      if (!leaves(doc).some(([f]) => f === required)) found.push(`${required} is missing`);
    }
    const categories = EcsFlat["event.category"].allowed_values;
    for (const category of doc.event?.category ?? []) {
      const expected = categories.find((c) => c.name === category)?.expected_event_types ?? [];
      for (const type of doc.event?.type ?? []) {
        if (!expected.includes(type)) found.push(`event.type ${type} is not one that event.category ${category} expects`);
      }
    }
    for (const problem of found) console.log(`${where}: ${problem}`);
    problems += found.length;
  });
}
console.log(`ECS ${EcsVersion}: ${documents} documents, ${problems} problems`);
if (problems > 0 || documents === 0) process.exit(1);
