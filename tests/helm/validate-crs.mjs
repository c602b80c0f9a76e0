// Validate custom resources against the CRD schemas compiled into the
// @kubernetes-models packages. Usage: node validate-crs.mjs <node_modules dir> < objects.json
// Reads a JSON array of objects; prints a JSON array with one error string (or null) each.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
const load = (path) => import(pathToFileURL(join(modules, "@kubernetes-models", path)).href);
const models = {
  "monitoring.coreos.com/v1": await load("prometheus-operator/monitoring.coreos.com/v1/index.js"),
  "keda.sh/v1alpha1": await load("keda/keda.sh/v1alpha1/index.js"),
};

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = objects.map((obj) => {
  const Model = models[obj.apiVersion]?.[obj.kind];
  if (!Model) return `no schema for ${obj.apiVersion} ${obj.kind}`;
  try {
    new Model(obj).validate();
    return null;
  } catch (err) {
    return String(err.message ?? err);
  }
});
process.stdout.write(JSON.stringify(results));
