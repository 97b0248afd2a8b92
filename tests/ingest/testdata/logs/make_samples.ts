/**
 * Writes the format-faithful log samples of tests/ingest/log_formats_test.ts, each line labelled
 * with its true event (one id per line in a companion `.events` file; `.templates` maps ids to
 * templates). Seeded, so a re-run writes the same files:
 *
 *   deno run -A tests/ingest/testdata/logs/make_samples.ts
 *
 * - openstack_nova.log: nova-api and nova-compute lines as nova writes them (`2017-05-16
 *   00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-… user project - - -] 10.11.10.1
 *   "GET /v2/…/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829`), instances booted
 *   and deleted ("[instance: <uuid>] VM Started (Lifecycle Event)", "Took 19.05 seconds to spawn
 *   the instance on the hypervisor.", …) between the API's polling, the image cache and the
 *   resource audit. Events and their wording follow OpenStack's nova (Ocata); the request lines'
 *   template is by method (the path is the parameter), as in Loghub's labelling.
 * - openssh_auth.log: syslog sshd lines without a year ("Dec 31 23:58:02 LabSZ sshd[24200]: …"),
 *   from Dec 31 to Jan 1 (across a year end): brute force on root and invalid users, Failed
 *   password, Accepted password / publickey, pam_unix session opened / closed, Received disconnect.
 * - apache_error.log: Apache 2.0 error log lines with a weekday ("[Sun Dec 04 04:47:44 2005]
 *   [notice] jk2_init() Found child 6725 in scoreboard slot 10").
 *
 * The true template of an event is the one its source statement writes; an optional part that
 * changes the token count (pam's "  user=root") is an event of its own, as in Loghub.
 */

let seed = 20171216;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[int(16)]).join("");
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
const ip = () => `${1 + int(222)}.${int(256)}.${int(256)}.${1 + int(254)}`;
const pad = (n: number, w = 2) => String(n).padStart(w, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const hms = (d: Date) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;

interface Sample {
  lines: string[];
  events: string[];
  templates: Record<string, string>;
}

function writeSample(name: string, s: Sample): void {
  const dir = new URL(".", import.meta.url).pathname;
  Deno.writeTextFileSync(`${dir}${name}.log`, s.lines.join("\n") + "\n");
  Deno.writeTextFileSync(`${dir}${name}.events`, s.events.join("\n") + "\n");
  const ids = Object.keys(s.templates).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  Deno.writeTextFileSync(`${dir}${name}.templates`, ids.map((id) => `${id}\t${s.templates[id]}`).join("\n") + "\n");
  console.log(`${name}: ${s.lines.length} lines, ${new Set(s.events).size} events`);
}

// ─────────────────────────────── OpenStack nova ───────────────────────────────

const NOVA_TEMPLATES: Record<string, string> = {
  E1: "[instance: <*>] Attempting claim: memory <*> MB, disk <*> GB, vcpus <*> CPU",
  E2: "[instance: <*>] Claim successful",
  E3: "[instance: <*>] Creating image",
  E4: "[instance: <*>] Deleting instance files <*>",
  E5: "[instance: <*>] Deletion of <*> complete",
  E6: "[instance: <*>] disk limit not specified, defaulting to unlimited",
  E7: "[instance: <*>] During sync_power_state the instance has a pending task (spawning). Skip.",
  E8: "[instance: <*>] Instance destroyed successfully.",
  E9: "[instance: <*>] Instance spawned successfully.",
  E10: "[instance: <*>] memory limit: <*> MB, free: <*> MB",
  E11: "[instance: <*>] Terminating instance",
  E12: "[instance: <*>] Took <*> seconds to build instance.",
  E13: "[instance: <*>] Took <*> seconds to deallocate network for instance.",
  E14: "[instance: <*>] Took <*> seconds to destroy the instance on the hypervisor.",
  E15: "[instance: <*>] Took <*> seconds to spawn the instance on the hypervisor.",
  E16: "[instance: <*>] Total disk: <*> GB, used: <*> GB",
  E17: "[instance: <*>] Total memory: <*> MB, used: <*> MB",
  E18: "[instance: <*>] Total vcpu: <*> VCPU, used: <*> VCPU",
  E19: "[instance: <*>] vcpu limit not specified, defaulting to unlimited",
  E20: "[instance: <*>] VM Paused (Lifecycle Event)",
  E21: "[instance: <*>] VM Resumed (Lifecycle Event)",
  E22: "[instance: <*>] VM Started (Lifecycle Event)",
  E23: "[instance: <*>] VM Stopped (Lifecycle Event)",
  E24: '<*> "DELETE <*> HTTP/1.1" status: <*> len: <*> time: <*>',
  E25: '<*> "GET <*> HTTP/1.1" status: <*> len: <*> time: <*>',
  E26: '<*> "POST <*> HTTP/1.1" status: <*> len: <*> time: <*>',
  E27: "Active base files: <*>",
  E28: "Auditing locally available compute resources for node <*>",
  E29: "Base or swap file too young to remove: <*>",
  E30: "Compute_service record updated for <*>",
  E31: "Creating event network-vif-plugged:<*> for instance <*>",
  E32: "Final resource view: name=<*> phys_ram=<*> used_ram=<*> phys_disk=<*> used_disk=<*> total_vcpus=<*> used_vcpus=<*> pci_stats=[]",
  E33: "HTTP exception thrown: No instances found for any event",
  E34: "image <*> at (<*>): checking",
  E35: "image <*> at (<*>): in use: on this node <*> local, <*> on other nodes sharing this instance storage",
  E36: "Removable base files: <*>",
  E37: "Removing base or swap file: <*>",
  E38: "Running instance usage audit for host <*> from <*> to <*>. <*> instances.",
  E39: "Successfully synced instances from host '<*>'.",
  E40: "The instance sync for host '<*>' did not match. Re-created its InstanceList.",
  E41: "Total usable vcpus: <*>, total allocated vcpus: <*>",
  E42: "Unknown base file: <*>",
  E43: "While synchronizing instance power states, found <*> instances in the database and <*> instances on the hypervisor.",
};

function openstack(): Sample {
  const lines: string[] = [], events: string[] = [];
  let t = Date.UTC(2017, 4, 16, 0, 0, 0, 8);
  const API_PID = 25746, META_PID = 25783, COMPUTE_PID = 2931;
  const user = hex(32), tenant = hex(32), admin = hex(32), service = hex(32);
  const node = "cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us";
  const base = `/var/lib/nova/instances/_base/${hex(40)}`;
  const image = uuid();
  const ts = () => {
    const d = new Date(t);
    return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 23)}`;
  };
  const emit = (pid: number, level: string, logger: string, ctx: string, message: string, event: string) => {
    t += 1 + int(400);
    lines.push(`${ts()} ${pid} ${level} ${logger} [${ctx}] ${message}`);
    events.push(event);
  };
  const req = () => `req-${uuid()}`;
  const apiCtx = (u = user, p = tenant) => `${req()} ${u} ${p} - - -`;
  const anon = () => `${req()} - - - - -`;
  const took = () => `${(1 + rnd() * 25).toFixed(2)}`;
  const time = () => (0.0005 + rnd() * 0.5).toFixed(7);
  const access = (method: string, path: string, status: number, len: number, from = "10.11.10.1") =>
    `${from} "${method} ${path} HTTP/1.1" status: ${status} len: ${len} time: ${time()}`;
  const poll = (k: number) => {
    for (let i = 0; i < k; i++) {
      emit(API_PID, "INFO", "nova.osapi_compute.wsgi.server", apiCtx(), access("GET", `/v2/${tenant}/servers/detail`, 200, pick([1583, 1874, 1893, 1910, 211]), ), "E25");
    }
  };
  const imageCache = (inUse: boolean) => {
    const ctx = anon();
    emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.imagecache", ctx, `image ${image} at (${base}): checking`, "E34");
    if (inUse) {
      emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.imagecache", ctx,
        `image ${image} at (${base}): in use: on this node ${1 + int(2)} local, 0 on other nodes sharing this instance storage`, "E35");
      emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.imagecache", ctx, `Active base files: ${base}`, "E27");
    } else {
      const stale = `/var/lib/nova/instances/_base/${hex(40)}`;
      emit(COMPUTE_PID, "WARNING", "nova.virt.libvirt.imagecache", ctx, `Unknown base file: ${stale}`, "E42");
      emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.imagecache", ctx, `Removable base files: ${stale}`, "E36");
      if (rnd() < 0.5) emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.imagecache", ctx, `Base or swap file too young to remove: ${stale}`, "E29");
      else emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.imagecache", ctx, `Removing base or swap file: ${stale}`, "E37");
    }
  };
  const audit = (vcpus: number) => {
    const ctx = anon();
    emit(COMPUTE_PID, "INFO", "nova.compute.resource_tracker", ctx, `Auditing locally available compute resources for node ${node}`, "E28");
    emit(COMPUTE_PID, "INFO", "nova.compute.resource_tracker", ctx, `Total usable vcpus: 16, total allocated vcpus: ${vcpus}`, "E41");
    emit(COMPUTE_PID, "INFO", "nova.compute.resource_tracker", ctx,
      `Final resource view: name=${node} phys_ram=64172MB used_ram=${512 + 2048 * vcpus}MB phys_disk=15GB used_disk=${20 * vcpus}GB total_vcpus=16 used_vcpus=${vcpus} pci_stats=[]`,
      "E32");
    emit(COMPUTE_PID, "INFO", "nova.compute.resource_tracker", ctx, `Compute_service record updated for ${node}:${node}`, "E30");
  };
  const boot = (id: string) => {
    const ctx = apiCtx();
    emit(API_PID, "INFO", "nova.osapi_compute.wsgi.server", ctx, access("POST", `/v2/${tenant}/servers`, 202, 733), "E26");
    poll(1 + int(2));
    const c = apiCtx();
    const cpu = 1 + int(2), mem = 2048 * cpu, disk = 20 * cpu;
    const inst = `instance: ${id}`;
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] Attempting claim: memory ${mem} MB, disk ${disk} GB, vcpus ${cpu} CPU`, "E1");
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] Total memory: 64172 MB, used: ${(512).toFixed(2)} MB`, "E17");
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] memory limit: 96258.00 MB, free: 95746.00 MB`, "E10");
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] Total disk: 15 GB, used: 0.00 GB`, "E16");
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] disk limit not specified, defaulting to unlimited`, "E6");
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] Total vcpu: 16 VCPU, used: 0.00 VCPU`, "E18");
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] vcpu limit not specified, defaulting to unlimited`, "E19");
    emit(COMPUTE_PID, "INFO", "nova.compute.claims", c, `[${inst}] Claim successful`, "E2");
    emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.driver", c, `[${inst}] Creating image`, "E3");
    poll(2 + int(4));
    const lc = anon();
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", lc, `[${inst}] VM Started (Lifecycle Event)`, "E22");
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", lc, `[${inst}] VM Paused (Lifecycle Event)`, "E20");
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", lc, `[${inst}] During sync_power_state the instance has a pending task (spawning). Skip.`, "E7");
    const ev = apiCtx(admin, service);
    emit(API_PID, "INFO", "nova.api.openstack.compute.server_external_events", ev, `Creating event network-vif-plugged:${uuid()} for instance ${id}`, "E31");
    emit(API_PID, "INFO", "nova.osapi_compute.wsgi.server", ev, access("POST", `/v2/${service}/os-server-external-events`, 200, 380), "E26");
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", lc, `[${inst}] VM Resumed (Lifecycle Event)`, "E21");
    emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.driver", "-", `[${inst}] Instance spawned successfully.`, "E9");
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", c, `[${inst}] Took ${took()} seconds to spawn the instance on the hypervisor.`, "E15");
    if (rnd() < 0.5) emit(COMPUTE_PID, "INFO", "nova.compute.manager", lc, `[${inst}] VM Resumed (Lifecycle Event)`, "E21");
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", c, `[${inst}] Took ${took()} seconds to build instance.`, "E12");
    // the guest reads its metadata
    const guest = `10.11.21.${100 + int(50)},10.11.10.1`;
    for (const path of ["/openstack/2012-08-10/meta_data.json", "/openstack/2013-10-17", "/openstack/2013-10-17/vendor_data.json", "/openstack/2013-10-17/user_data", "/latest/meta-data/"]) {
      if (rnd() < 0.6) {
        emit(META_PID + int(12), "INFO", "nova.metadata.wsgi.server", rnd() < 0.3 ? "-" : anon(),
          access("GET", path, path.endsWith("user_data") ? 404 : 200, pick([124, 157, 264, 967]), guest), "E25");
      }
    }
    if (rnd() < 0.4) emit(API_PID, "INFO", "nova.osapi_compute.wsgi.server", apiCtx(), access("GET", `/v2/${tenant}/servers/${id}`, 200, 1708), "E25");
  };
  const remove = (id: string) => {
    const ctx = apiCtx();
    emit(API_PID, "INFO", "nova.osapi_compute.wsgi.server", ctx, access("DELETE", `/v2/${tenant}/servers/${id}`, 204, 203), "E24");
    const inst = `instance: ${id}`;
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", ctx, `[${inst}] Terminating instance`, "E11");
    const lc = anon();
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", lc, `[${inst}] VM Stopped (Lifecycle Event)`, "E23");
    emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.driver", "-", `[${inst}] Instance destroyed successfully.`, "E8");
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", ctx, `[${inst}] Took ${took()} seconds to destroy the instance on the hypervisor.`, "E14");
    const dir = `/var/lib/nova/instances/${id}_del`;
    emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.driver", ctx, `[${inst}] Deleting instance files ${dir}`, "E4");
    emit(COMPUTE_PID, "INFO", "nova.virt.libvirt.driver", ctx, `[${inst}] Deletion of ${dir} complete`, "E5");
    emit(COMPUTE_PID, "INFO", "nova.compute.manager", ctx, `[${inst}] Took ${took()} seconds to deallocate network for instance.`, "E13");
    if (rnd() < 0.3) {
      const ev = apiCtx(admin, service);
      emit(API_PID, "INFO", "nova.api.openstack.compute.server_external_events", ev, "HTTP exception thrown: No instances found for any event", "E33");
      emit(API_PID, "INFO", "nova.osapi_compute.wsgi.server", ev, access("POST", `/v2/${service}/os-server-external-events`, 404, 296), "E26");
    }
  };
  const running: string[] = [];
  for (let round = 0; round < 28; round++) {
    poll(4 + int(8));
    if (running.length < 2 || rnd() < 0.55) {
      const id = uuid();
      boot(id);
      running.push(id);
    } else {
      remove(running.splice(int(running.length), 1)[0]);
    }
    poll(3 + int(6));
    imageCache(running.length > 0 || rnd() < 0.5);
    if (round % 3 === 0) audit(running.length);
    if (round % 7 === 3) {
      const ctx = anon();
      const from = new Date(t - 3_600_000), to = new Date(t);
      const hour = (d: Date) => `${d.toISOString().slice(0, 10)} ${pad(d.getUTCHours())}:00:00`;
      emit(COMPUTE_PID, "INFO", "nova.compute.manager", ctx, `Running instance usage audit for host ${node} from ${hour(from)} to ${hour(to)}. ${running.length} instances.`, "E38");
      if (rnd() < 0.5) emit(COMPUTE_PID, "INFO", "nova.compute.manager", ctx, `Successfully synced instances from host '${node}'.`, "E39");
      else emit(COMPUTE_PID, "INFO", "nova.compute.manager", ctx, `The instance sync for host '${node}' did not match. Re-created its InstanceList.`, "E40");
      emit(COMPUTE_PID, "WARNING", "nova.compute.manager", ctx,
        `While synchronizing instance power states, found ${running.length + 1} instances in the database and ${running.length} instances on the hypervisor.`, "E43");
    }
  }
  return { lines, events, templates: NOVA_TEMPLATES };
}

// ─────────────────────────────── OpenSSH (syslog) ───────────────────────────────

const SSH_TEMPLATES: Record<string, string> = {
  E1: "Accepted password for <*> from <*> port <*> ssh2",
  E2: "Connection closed by <*> [preauth]",
  E3: "Did not receive identification string from <*>",
  E4: "Disconnecting: Too many authentication failures for <*> [preauth]",
  E5: "error: Received disconnect from <*>: <*>: com.jcraft.jsch.JSchException: Auth fail [preauth]",
  E6: "Failed none for invalid user <*> from <*> port <*> ssh2",
  E7: "Failed password for <*> from <*> port <*> ssh2",
  E8: "Failed password for invalid user <*> from <*> port <*> ssh2",
  E9: "fatal: Write failed: Connection reset by peer [preauth]",
  E10: "input_userauth_request: invalid user <*> [preauth]",
  E11: "Invalid user <*> from <*>",
  E12: "message repeated <*> times: [ Failed password for root from <*> port <*> ssh2]",
  E13: "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>",
  E14: "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>  user=root",
  E15: "PAM service(sshd) ignoring max retries; <*> > <*>",
  E16: "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>",
  E17: "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>  user=<*>",
  E18: "pam_unix(sshd:auth): check pass; user unknown",
  E19: "pam_unix(sshd:session): session closed for user <*>",
  E20: "pam_unix(sshd:session): session opened for user <*> by (uid=<*>)",
  E21: "Received disconnect from <*>: <*>: Bye Bye [preauth]",
  E22: "Received disconnect from <*>: <*>: disconnected by user",
  E23: "reverse mapping checking getaddrinfo for <*> [<*>] failed - POSSIBLE BREAK-IN ATTEMPT!",
  E24: "Accepted publickey for <*> from <*> port <*> ssh2: RSA SHA256:<*>",
  E25: "Received disconnect from <*>: <*>: Closed due to user request. [preauth]",
};

function openssh(): Sample {
  const lines: string[] = [], events: string[] = [];
  let t = Date.UTC(2025, 11, 31, 6, 55, 46);
  let pid = 24200;
  const ts = () => {
    const d = new Date(t);
    // syslog pads the day with a space: "Jan  2"
    return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${hms(d)}`;
  };
  const emit = (p: number, message: string, event: string, gap = 0) => {
    t += gap * 1000;
    lines.push(`${ts()} LabSZ sshd[${p}]: ${message}`);
    events.push(event);
  };
  const port = () => 1024 + int(64000);
  const users = ["webmaster", "test9", "chen", "pgadmin", "utsims", "inspur", "oracle", "admin1", "support", "ftpuser", "git", "ubnt"];
  const rhost = (a: string) => (rnd() < 0.3 ? `${a.replace(/\./g, "-")}.dynamic-dsl-ip.example.net` : a);
  const invalidUser = (a: string) => {
    const p = pid += 2, u = pick(users);
    if (rnd() < 0.3) emit(p, `reverse mapping checking getaddrinfo for ns.${hex(6)}.com [${a}] failed - POSSIBLE BREAK-IN ATTEMPT!`, "E23", int(3));
    emit(p, `Invalid user ${u} from ${a}`, "E11", int(2));
    emit(p, `input_userauth_request: invalid user ${u} [preauth]`, "E10");
    if (rnd() < 0.15) {
      emit(p, `Failed none for invalid user ${u} from ${a} port ${port()} ssh2`, "E6");
    }
    emit(p, "pam_unix(sshd:auth): check pass; user unknown", "E18");
    emit(p, `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${rhost(a)} `, "E16");
    emit(p, `Failed password for invalid user ${u} from ${a} port ${port()} ssh2`, "E8", 2);
    if (rnd() < 0.5) emit(p, `Received disconnect from ${a}: 11: Bye Bye [preauth]`, "E21");
    else emit(p, `Connection closed by ${a} [preauth]`, "E2");
  };
  const rootGuess = (a: string) => {
    const p = pid += 2;
    emit(p, `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${rhost(a)}  user=root`, "E17", 1 + int(5));
    const pt = port();
    emit(p, `Failed password for root from ${a} port ${pt} ssh2`, "E7", 2);
    if (rnd() < 0.2) {
      const n = 2 + int(4);
      emit(p, `message repeated ${n} times: [ Failed password for root from ${a} port ${pt} ssh2]`, "E12", 10);
      emit(p, "Disconnecting: Too many authentication failures for root [preauth]", "E4");
      if (rnd() < 0.5) emit(p, `PAM ${n} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${rhost(a)}  user=root`, "E14");
      else emit(p, `PAM ${n} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${a}`, "E13");
      emit(p, `PAM service(sshd) ignoring max retries; ${n + 1} > 3`, "E15");
    } else if (rnd() < 0.6) emit(p, `Received disconnect from ${a}: 11: Bye Bye [preauth]`, "E21");
    else emit(p, `Connection closed by ${a} [preauth]`, "E2");
  };
  const login = () => {
    const p = pid += 2, a = `10.0.${int(4)}.${2 + int(200)}`, u = pick(["fztu", "curi", "jmzhu", "root", "deploy"]);
    if (rnd() < 0.5) emit(p, `Accepted password for ${u} from ${a} port ${port()} ssh2`, "E1", 30 + int(600));
    else emit(p, `Accepted publickey for ${u} from ${a} port ${port()} ssh2: RSA SHA256:${btoa(hex(32)).slice(0, 43)}`, "E24", 30 + int(600));
    emit(p, `pam_unix(sshd:session): session opened for user ${u} by (uid=0)`, "E20");
    emit(p + 1, `Received disconnect from ${a}: 11: disconnected by user`, "E22", 60 + int(3600));
    emit(p + 1, `pam_unix(sshd:session): session closed for user ${u}`, "E19");
  };
  const noise = (a: string) => {
    const p = pid += 2, r = rnd();
    if (r < 0.35) emit(p, `Did not receive identification string from ${a}`, "E3", 5 + int(60));
    else if (r < 0.55) emit(p, "fatal: Write failed: Connection reset by peer [preauth]", "E9", 5 + int(60));
    else if (r < 0.75) emit(p, `Received disconnect from ${a}: 11: Closed due to user request. [preauth]`, "E25", 5 + int(60));
    else if (r < 0.9) emit(p, `error: Received disconnect from ${a}: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]`, "E5", 5 + int(60));
    else emit(p, "Disconnecting: Too many authentication failures for admin [preauth]", "E4", 5 + int(60));
  };
  while (lines.length < 900) {
    const attacker = ip();
    const r = rnd();
    if (r < 0.35) for (let k = 1 + int(6); k > 0; k--) rootGuess(attacker);
    else if (r < 0.65) for (let k = 1 + int(3); k > 0; k--) invalidUser(attacker);
    else if (r < 0.8) login();
    else noise(attacker);
    t += int(1800) * 1000;
  }
  return { lines, events, templates: SSH_TEMPLATES };
}

// ─────────────────────────────── Apache error log ───────────────────────────────

const APACHE_TEMPLATES: Record<string, string> = {
  E1: "[client <*>] Directory index forbidden by rule: <*>",
  E2: "jk2_init() Can't find child <*> in scoreboard",
  E3: "jk2_init() Found child <*> in scoreboard slot <*>",
  E4: "mod_jk child init <*> <*>",
  E5: "mod_jk child workerEnv in error state <*>",
  E6: "workerEnv.init() ok <*>",
};

function apache(): Sample {
  const lines: string[] = [], events: string[] = [];
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  let t = Date.UTC(2005, 11, 4, 4, 47, 44);
  const ts = () => {
    const d = new Date(t);
    return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${hms(d)} ${d.getUTCFullYear()}`;
  };
  const emit = (level: string, message: string, event: string) => {
    lines.push(`[${ts()}] [${level}] ${message}`);
    events.push(event);
  };
  while (lines.length < 300) {
    t += int(3 * 3600) * 1000;
    const r = rnd();
    if (r < 0.5) {
      for (let k = 1 + int(3); k > 0; k--) {
        const child = 1000 + int(9000);
        emit("notice", `jk2_init() Found child ${child} in scoreboard slot ${int(12)}`, "E3");
        emit("notice", "workerEnv.init() ok /etc/httpd/conf/workers2.properties", "E6");
        if (rnd() < 0.6) emit("error", `mod_jk child workerEnv in error state ${6 + int(3)}`, "E5");
      }
    } else if (r < 0.75) {
      emit("error", `[client ${ip()}] Directory index forbidden by rule: /var/www/html/`, "E1");
    } else if (r < 0.9) {
      emit("error", `jk2_init() Can't find child ${1000 + int(9000)} in scoreboard`, "E2");
    } else {
      emit("error", `mod_jk child init 1 -${1 + int(2)}`, "E4");
    }
  }
  return { lines, events, templates: APACHE_TEMPLATES };
}

if (import.meta.main) {
  writeSample("openstack_nova", openstack());
  writeSample("openssh_auth", openssh());
  writeSample("apache_error", apache());
}
