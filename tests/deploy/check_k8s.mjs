// Renders deploy/kubernetes (kustomize base) and checks it mechanically and against the Kubernetes schemas
// (kubernetes-models ships the OpenAPI JSON schemas and validates with ajv). Prints the facts the shell part of
// scripts/package_test.sh checks against the running server as JSON on the last line:
//   {"config": "<ConfigMap's streamgate.yaml>", "env": {...}, "probes": ["/healthz", ...], "ports": {...}}
// Usage: node tests/deploy/check_k8s.mjs <repo root>
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";

const root = process.argv[2] ?? ".";
const base = path.join(root, "deploy/kubernetes");
let failures = 0;
let passes = 0;
const check = (ok, what) => {
  if (ok) passes++;
  else {
    failures++;
    console.error(`FAIL: ${what}`);
  }
};

// Render with kubectl's kustomize when there is one; else the same for the subset the base uses (resources only),
// refusing anything else so that the fallback cannot silently differ.
function render() {
  try {
    return execFileSync("kubectl", ["kustomize", base], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (e.code !== "ENOENT") throw new Error(`kubectl kustomize failed: ${e.stderr || e.message}`);
  }
  const k = YAML.parse(readFileSync(path.join(base, "kustomization.yaml"), "utf8"));
  for (const key of Object.keys(k))
    if (!["apiVersion", "kind", "resources"].includes(key))
      throw new Error(`kustomization.yaml uses '${key}': install kubectl to render it`);
  return k.resources.map((r) => readFileSync(path.join(base, r), "utf8")).join("\n---\n");
}

const docs = YAML.parseAllDocuments(render()).map((d) => d.toJS()).filter(Boolean);
const models = { "v1/ConfigMap": ConfigMap, "v1/Service": Service, "apps/v1/Deployment": Deployment,
                 "apps/v1/StatefulSet": StatefulSet, "policy/v1/PodDisruptionBudget": PodDisruptionBudget };
for (const d of docs) {
  const Model = models[`${d.apiVersion}/${d.kind}`];
  check(Model, `${d.kind} ${d.metadata?.name}: no schema known for ${d.apiVersion}/${d.kind}`);
  if (!Model) continue;
  try {
    new Model(d).validate();
    check(true);
  } catch (e) {
    check(false, `${d.kind} ${d.metadata?.name}: schema: ${e.message}`);
  }
}

const of = (kind) => docs.filter((d) => d.kind === kind);
const [deploy] = of("Deployment");
check(of("Deployment").length === 1, "exactly one Deployment");
check(deploy.spec.replicas === 3, "3 replicas");
const pod = deploy.spec.template.spec;
const podLabels = deploy.spec.template.metadata.labels;
const selectsLabels = (sel, labels) =>
  Object.entries(sel ?? {}).every(([k, v]) => labels?.[k] === v) && Object.keys(sel ?? {}).length > 0;
const selects = (sel) => selectsLabels(sel, podLabels);
check(selects(deploy.spec.selector.matchLabels), "Deployment selector matches its pods");
const [c] = pod.containers;
check(pod.containers.length === 1, "one container");

// Image: the name and version the Dockerfile labels its image with.
const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
const label = (k) => dockerfile.match(new RegExp(`${k.replaceAll(".", "\\.")}="([^"]+)"`))?.[1];
const imageName = `${label("org.opencontainers.image.ref.name")}:${label("org.opencontainers.image.version")}`;
check(c.image === imageName, `image '${c.image}' is the Dockerfile's '${imageName}'`);
const cmakeVersion = readFileSync(path.join(root, "CMakeLists.txt"), "utf8").match(/project\(streamgate VERSION ([0-9.]+)/)[1];
check(label("org.opencontainers.image.version") === cmakeVersion, `Dockerfile version is the project's ${cmakeVersion}`);

// Security context: non-root, read-only root, no capabilities, no privilege escalation.
const psc = pod.securityContext ?? {};
const sc = c.securityContext ?? {};
check(psc.runAsNonRoot === true && psc.runAsUser > 0, "pod runs as non-root");
check(sc.readOnlyRootFilesystem === true, "read-only root filesystem");
check(sc.allowPrivilegeEscalation === false, "no privilege escalation");
check(JSON.stringify(sc.capabilities?.drop) === '["ALL"]' && !sc.capabilities?.add, "all capabilities dropped");
check(pod.terminationGracePeriodSeconds >= 10, "graceful termination period");
check(c.lifecycle?.preStop, "preStop lets endpoints drain before SIGTERM");

// Resources sized from our measurements, requests and limits both set.
const mib = (q) => { const m = String(q).match(/^(\d+)(Mi|Gi)$/); return m ? Number(m[1]) * (m[2] === "Gi" ? 1024 : 1) : NaN; };
check(mib(c.resources?.requests?.memory) <= 256 && mib(c.resources?.limits?.memory) <= 1024 &&
      mib(c.resources?.requests?.memory) <= mib(c.resources?.limits?.memory), "memory requests/limits set, limit <= 1Gi");
check(c.resources?.requests?.cpu && c.resources?.limits?.cpu, "cpu requests/limits set");

// Ports: container ports, Services' targetPorts, probes.
const ports = Object.fromEntries(c.ports.map((p) => [p.name, p]));
check(ports.http?.containerPort && ports.rtsp?.containerPort && ports.webrtc?.protocol === "UDP", "http, rtsp, webrtc/UDP ports");
const byName = (port) => (typeof port === "string" ? ports[port] : c.ports.find((p) => p.containerPort === port));
// Redis (redis.yaml) has its own Service; every other Service is the server's.
const [redis] = of("StatefulSet");
const redisLabels = redis?.spec.template.metadata.labels;
const isRedisService = (s) => redis && selectsLabels(s.spec.selector, redisLabels);
for (const s of of("Service").filter((s) => !isRedisService(s))) {
  check(selects(s.spec.selector), `Service ${s.metadata.name} selects the pods`);
  for (const p of s.spec.ports) {
    const target = byName(p.targetPort ?? p.port);
    check(target && (target.protocol ?? "TCP") === (p.protocol ?? "TCP"), `Service ${s.metadata.name} port ${p.name} targets a container port of the same protocol`);
  }
}
const served = new Set(of("Service").filter((s) => !isRedisService(s)).flatMap((s) => s.spec.ports.map((p) => byName(p.targetPort ?? p.port)?.name)));
check(["http", "rtsp", "webrtc"].every((n) => served.has(n)), "Services for HTTP, RTSP and WebRTC UDP");
const probes = [];
for (const [kind, want] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
  const p = c[kind]?.httpGet;
  check(p?.path === want, `${kind} is GET ${want}`);
  check(byName(p?.port)?.name === "http", `${kind} uses the http port`);
  if (p?.path) probes.push(p.path);
}

// PodDisruptionBudget.
const [pdb] = of("PodDisruptionBudget");
check(pdb && selects(pdb.spec.selector.matchLabels), "a PodDisruptionBudget selects the pods");
check(pdb && (pdb.spec.maxUnavailable ?? 0) < 3, "the PDB keeps pods available");

// Config: the ConfigMap mounted where --config points; its ${VARS} come from the downward API.
const [cm] = of("ConfigMap");
const mount = c.volumeMounts.find((m) => pod.volumes.find((v) => v.name === m.name)?.configMap?.name === cm.metadata.name);
const configPath = c.args[c.args.indexOf("--config") + 1];
check(mount && configPath === `${mount.mountPath}/streamgate.yaml` && cm.data["streamgate.yaml"], "ConfigMap mounted at --config");
check(c.volumeMounts.some((m) => m.mountPath === "/tmp"), "writable /tmp on the read-only root");
const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]));
const config = cm.data["streamgate.yaml"];
for (const [, name] of config.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g))
  check(env[name] !== undefined, `config variable ${name} is set in the container's env`);
check(Object.values(env).includes("status.hostIP") || Object.values(env).includes("status.podIP"), "WebRTC address from the downward API");
const cfg = YAML.parse(config);
const portOf = (addr) => Number(String(addr).split(":").pop());
check(portOf(cfg.server.http) === ports.http.containerPort, "server.http is the http containerPort");
check(portOf(cfg.server.rtsp) === ports.rtsp.containerPort, "server.rtsp is the rtsp containerPort");
check(portOf(cfg.server.webrtc_udp) === ports.webrtc.containerPort, "server.webrtc_udp is the webrtc containerPort");
// Draining: preStop, then shutdown_grace, then up to 2 s to close must fit in the termination grace period.
const seconds = (d) => { const m = String(d ?? "0").match(/^(\d+)(ms|s|m)?$/); return m ? Number(m[1]) / ({ ms: 1000, s: 1, m: 1 / 60 }[m[2] ?? "s"]) : NaN; };
const preStopSleep = Number(c.lifecycle?.preStop?.exec?.command?.[0] === "sleep" ? c.lifecycle.preStop.exec.command[1] : 0);
check(seconds(cfg.shutdown_grace) > 0, "shutdown_grace drains sessions on SIGTERM");
check(preStopSleep + seconds(cfg.shutdown_grace) + 2 <= pod.terminationGracePeriodSeconds,
      `preStop ${preStopSleep} s + shutdown_grace ${cfg.shutdown_grace} + 2 s fit in terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds}`);

// Cluster: the replicas share the Redis of redis.yaml (a StatefulSet of one, so that the check above keeps exactly
// one Deployment) and reach each other's RTSP port at the pod IP.
check(cfg.cluster, "the config has a cluster section");
if (cfg.cluster) {
  // ${VAR} in a value: the env var's downward API field (or literal value) it expands to.
  const fieldOf = (v) => { const m = String(v ?? "").match(/^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/); return m ? env[m[1]] : undefined; };
  check(fieldOf(cfg.cluster.node) === "metadata.name", `cluster.node '${cfg.cluster.node}' is the pod name (unique per replica)`);
  check(fieldOf(cfg.cluster.advertise) === "status.podIP", `cluster.advertise '${cfg.cluster.advertise}' is the pod IP`);
  check(seconds(cfg.cluster.lease) >= 1 && seconds(cfg.cluster.lease) <= 60, `cluster.lease ${cfg.cluster.lease} is within 1s .. 60s`);
  let url;
  try { url = new URL(cfg.cluster.redis); } catch { url = undefined; }
  check(url?.protocol === "redis:", `cluster.redis '${cfg.cluster.redis}' is a redis:// URL`);
  const redisPort = Number(url?.port || 6379);
  // The Service's name, or its name.namespace[.svc.cluster.local].
  const svc = of("Service").find((s) => url && (url.hostname === s.metadata.name || url.hostname.startsWith(`${s.metadata.name}.`)));
  check(svc && isRedisService(svc), `cluster.redis host '${url?.hostname}' is a Service that selects the Redis pods`);
  check(svc?.spec.type === undefined || svc?.spec.type === "ClusterIP", "the Redis Service is ClusterIP (in-cluster only)");
  check(of("StatefulSet").length === 1 && redis?.spec.replicas === 1, "Redis is one StatefulSet of one replica");
  check(redis && selectsLabels(redis.spec.selector.matchLabels, redisLabels) && !selects(redis.spec.selector.matchLabels) &&
        !selectsLabels(deploy.spec.selector.matchLabels, redisLabels), "Redis and server selectors are disjoint");
  const rpod = redis?.spec.template.spec ?? {};
  const [rc] = rpod.containers ?? [];
  const rports = rc?.ports ?? [];
  const sport = svc?.spec.ports.find((p) => p.port === redisPort);
  const rtarget = sport && rports.find((p) => p.name === sport.targetPort || p.containerPort === (sport.targetPort ?? sport.port));
  check(rtarget && (sport.protocol ?? "TCP") === "TCP" && (rtarget.protocol ?? "TCP") === "TCP",
        `the Redis Service's port ${redisPort} (cluster.redis) targets the Redis container's TCP port`);
  check(/^redis:7(\.|-|$)/.test(rc?.image ?? ""), `Redis image '${rc?.image}' is the official redis:7`);
  // Non-root, read-only root, no capabilities; no persistence that would write to the root or need a volume.
  const rpsc = rpod.securityContext ?? {};
  const rsc = rc?.securityContext ?? {};
  check(rpsc.runAsNonRoot === true && rpsc.runAsUser > 0, "Redis runs as non-root");
  check(rsc.readOnlyRootFilesystem === true && rsc.allowPrivilegeEscalation === false &&
        JSON.stringify(rsc.capabilities?.drop) === '["ALL"]' && !rsc.capabilities?.add,
        "Redis: read-only root, no privilege escalation, all capabilities dropped");
  const argv = [...(rc?.command ?? []), ...(rc?.args ?? [])];
  const flag = (name) => { const i = argv.lastIndexOf(name); return i < 0 ? undefined : argv[i + 1]; };
  check(flag("--save") === "", "Redis: no RDB snapshots (--save \"\")");
  check(flag("--appendonly") === "no", "Redis: no append-only file (--appendonly no)");
  check(!(redis?.spec.volumeClaimTemplates ?? []).length, "Redis: no persistent volume claims");
  const dataVol = (rc?.volumeMounts ?? []).find((m) => m.mountPath === "/data");
  check(dataVol && rpod.volumes?.find((v) => v.name === dataVol.name)?.emptyDir, "Redis: an emptyDir for its working directory /data");
  check(mib(rc?.resources?.requests?.memory) <= mib(rc?.resources?.limits?.memory) && rc?.resources?.requests?.cpu &&
        rc?.resources?.limits?.cpu, "Redis: cpu and memory requests/limits set");
  for (const kind of ["livenessProbe", "readinessProbe"])
    check((rc?.[kind]?.exec?.command ?? []).join(" ").includes(`redis-cli -p ${rtarget?.containerPort} ping`),
          `Redis ${kind} is redis-cli ping on its port`);
}

console.error(`k8s checks: ${passes} passed, ${failures} failed (${docs.length} objects)`);
console.log(JSON.stringify({ config, env: Object.fromEntries(Object.keys(env).map((k) => [k, "10.0.0.7"])), probes }));
process.exit(failures ? 1 : 0);
