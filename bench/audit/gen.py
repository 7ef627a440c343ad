#!/usr/bin/env python3
# Write SIZE bytes (at least) of realistic kube-apiserver audit events
# (audit.k8s.io/v1, Go field order, one compact JSON object per line) to
# OUT.  About 5 % of the events have responseStatus.code >= 400.
# usage: gen.py OUT SIZE [SEED]
import json, random, sys, zlib

out, size = sys.argv[1], int(sys.argv[2])
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
J = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"))

users = [{"username": u, "uid": "%08x" % zlib.crc32(u.encode()), "groups": g} for u, g in [
    ("alice", ["podsec:developers", "system:authenticated"]),
    ("bob", ["system:authenticated"]),
    ("carol", ["podsec:admins", "system:authenticated"]),
    ("ci-runner", ["podsec:ci", "system:authenticated"]),
    ("dave@example.org", ["oidc:team-a", "system:authenticated"]),
]]
anon = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
agents = ["kubectl/v1.26.3 (linux/amd64) kubernetes/9e64410", "kubectl/v1.28.2 (darwin/arm64) kubernetes/89a4ea3",
          "helm/v3.12.3", "Go-http-client/2.0", "k9s/v0.27.4 (linux/amd64)", "curl/7.88.1"]
nss = ["default", "kube-system", "podsec", "monitoring", "team-a", "ingress-nginx"]
resources = [("pods", "", "v1"), ("services", "", "v1"), ("configmaps", "", "v1"), ("secrets", "", "v1"),
             ("deployments", "apps", "v1"), ("replicasets", "apps", "v1"), ("ingresses", "networking.k8s.io", "v1"),
             ("rolebindings", "rbac.authorization.k8s.io", "v1"), ("events", "", "v1")]
pod_tpl = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "NAME", "namespace": "NS", "labels": {"app": "web", "tier": "frontend"},
           "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"}}"}},
           "spec": {"containers": [{"name": "web", "image": "registry.local/alt/nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}],
           "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}, "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
           "env": [{"name": "MODE", "value": "production"}, {"name": "QUOTE", "value": "say \"hi\" {code:500}"}]}],
           "restartPolicy": "Always", "serviceAccountName": "default"}}

def uri_of(verb, res, ns, name):
    r, g, v = res
    base = "/api/v1" if not g else "/apis/%s/%s" % (g, v)
    path = "%s/namespaces/%s/%s" % (base, ns, r)
    if verb in ("get", "patch", "update", "delete"):
        path += "/" + name
    if verb == "list":
        path += "?limit=500"
    elif verb == "watch":
        path += "?allowWatchBookmarks=true&resourceVersion=%d&timeout=7m58s&watch=true" % rnd.randint(10**5, 10**7)
    elif verb == "patch":
        path += "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
    return path

errors = [(403, "Forbidden", lambda u, r, ns: '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"' %
           (r[0], u, "list", r[0], r[1], ns)),
          (404, "NotFound", lambda u, r, ns: '%s "web-%x" not found' % (r[0], rnd.randint(0, 1 << 20))),
          (401, "Unauthorized", lambda u, r, ns: "Unauthorized"),
          (409, "AlreadyExists", lambda u, r, ns: '%s "web" already exists' % r[0]),
          (422, "Invalid", lambda u, r, ns: 'Pod "web" is invalid: spec.containers[0].image: Required value'),
          (500, "InternalError", lambda u, r, ns: 'Internal error occurred: failed calling webhook "validate.kyverno.svc": context deadline exceeded')]

def event(n, t):
    user = rnd.choice(users)
    ns = rnd.choice(nss)
    res = rnd.choice(resources)
    name = "web-%05x" % rnd.randint(0, 1 << 20)
    ts = "2024-03-01T%02d:%02d:%02d.%06dZ" % (t // 3600 % 24, t // 60 % 60, t % 60, rnd.randint(0, 999999))
    e = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
         "auditID": "%08x-%04x-4%03x-%04x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(12),
                                                    rnd.getrandbits(16), rnd.getrandbits(48)),
         "stage": "ResponseComplete"}
    x = rnd.random()
    obj = {"resource": res[0], "namespace": ns, "apiVersion": res[2]}
    if res[1]:
        obj["apiGroup"] = res[1]
    ip = "192.168.%d.%d" % (rnd.randint(0, 3), rnd.randint(2, 250))
    req = resp = None
    if x < 0.05:                                   # denied / failed
        code, reason, mk = rnd.choices(errors, weights=[60, 15, 10, 5, 5, 5])[0]
        verb = rnd.choice(["get", "list", "create", "delete", "patch"])
        if code == 401:
            user, ip = {}, "203.0.113.%d" % rnd.randint(1, 254)
        elif code == 403 and rnd.random() < 0.3:
            user, ip = anon, "198.51.100.%d" % rnd.randint(1, 254)
        status = {"metadata": {}, "status": "Failure", "message": mk(user.get("username", ""), res, ns), "reason": reason,
                  "code": code}
        if code in (403, 404, 409):
            status["details"] = {"name": name, "kind": res[0]}
    elif x < 0.15:                                 # pod writes: full bodies
        verb = rnd.choice(["create", "patch", "update"])
        res = resources[0]
        obj = {"resource": "pods", "namespace": ns, "name": name, "apiVersion": "v1"}
        e["level"] = "RequestResponse"
        p = json.loads(J(pod_tpl)); p["metadata"]["name"] = name; p["metadata"]["namespace"] = ns
        req = p
        resp = dict(p, status={"phase": "Pending", "qosClass": "Burstable"})
        resp["metadata"] = dict(p["metadata"], uid="%08x-0000-4000-8000-%012x" % (rnd.getrandbits(32), rnd.getrandbits(48)),
                                resourceVersion=str(rnd.randint(10**5, 10**7)), creationTimestamp=ts[:19] + "Z")
        status = {"metadata": {}, "code": 201 if verb == "create" else 200}
    elif x < 0.25:                                 # watches
        verb = "watch"
        e["stage"] = rnd.choice(["ResponseStarted", "ResponseComplete"])
        status = {"metadata": {}, "code": 200}
    else:
        verb = rnd.choice(["get", "get", "list", "list", "delete"])
        status = {"metadata": {}, "code": 200}
    if verb in ("get", "patch", "update", "delete"):
        obj["name"] = name
    e.update({"requestURI": uri_of(verb, res, ns, name), "verb": verb, "user": user, "sourceIPs": [ip],
              "userAgent": rnd.choice(agents), "objectRef": obj, "responseStatus": status})
    if req is not None:
        e["requestObject"] = req
        e["responseObject"] = resp
    e["requestReceivedTimestamp"] = ts
    e["stageTimestamp"] = ts[:-2] + "9Z"
    dec = "forbid" if status["code"] == 403 else "allow"
    e["annotations"] = {"authorization.k8s.io/decision": dec,
                        "authorization.k8s.io/reason": "" if dec == "forbid" else
                        'RBAC: allowed by RoleBinding "edit/%s" of ClusterRole "edit" to User "%s"' % (ns, user.get("username", ""))}
    return J(e)

# Build a pool of distinct events once, then write them out in random order
# until SIZE: generating every line afresh would take minutes for 1 GB.
pool = [event(i, i) for i in range(20000)]
with open(out, "w", buffering=1 << 22) as f:
    written = 0
    while written < size:
        chunk = "\n".join(rnd.choices(pool, k=2000)) + "\n"
        f.write(chunk)
        written += len(chunk.encode())
