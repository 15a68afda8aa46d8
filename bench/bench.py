#!/usr/bin/env python3
"""Times s3ferry against rclone and the aws cli on two loopback Garage endpoints.

Python 3.11 standard library only. See bench/README.md for what it measures and how to run it;
the results go to bench/RESULTS.md (and the raw numbers to bench/RESULTS.json).

Settings (environment):
  BENCH_RUNS=3          runs of each (tool, row); the table shows the median wall time
  BENCH_ROWS=a,b        only these rows (ids: ab_big ab_small up_small down_small up_big
                        ss_big ss_small)
  BENCH_TOOLS=a,b       only these tools (ids: s3ferry rclone rclone16 aws s3ferry_staged)
  BENCH_BIG_MIB=1024    size of the big file; BENCH_SMALL_COUNT=2000, BENCH_SMALL_KIB=64
  BENCH_CHECKSUMS=when_supported   s3ferry's `checksums` and the aws cli's
                        AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION
  BENCH_OUT=FILE        where the Markdown goes (default bench/RESULTS.md; the JSON beside it)
  BENCH_TMPDIR=DIR      parent of the temporary directory (data, Garage dirs); default: the
                        system temp dir. It is removed at the end unless BENCH_KEEP=1.
  BENCH_TIMEOUT=900     seconds before one tool run is killed and counted as failed
  BENCH_PAUSE=1         seconds of quiet before each timed run
  BENCH_NO_BUILD=1      do not run `cargo build --release` (S3FERRY_BIN picks the binary)

`bench.py serve` sets up the same endpoints and data, prints how to use them, and waits for
Ctrl-C (for manual runs and profiling).
  BENCH_S3FERRY_COMMIT  what to call the s3ferry build in the report (default: the repo's
                        HEAD, "+ uncommitted changes" when src/ differs from it)
  GARAGE_BIN            the garage binary (default: PATH, then ~/.cargo/bin; installed when
                        missing with the same command as scripts/test)
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
MIB = 1024 * 1024
GARAGE_INSTALL = [
    "cargo", "install", "garage@2.5.0", "--locked", "--no-default-features",
    "--features", "bundled-libs,lmdb",
]
TIME = "/usr/bin/time"


def env_int(name: str, default: int) -> int:
    v = os.environ.get(name, "").strip()
    return int(v) if v else default


def env_list(name: str) -> list[str] | None:
    v = os.environ.get(name, "").strip()
    return [x.strip() for x in v.split(",") if x.strip()] if v else None


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log("error: " + msg)
    sys.exit(2)


def run(cmd: list[str], env: dict | None = None, check: bool = True, timeout: float = 600,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, what: str, logfile: Path, secs: float = 30) -> None:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    die(f"{what} did not open port {port} within {secs} s; its log:\n{logfile.read_text()}")


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------

def find_binary(name: str, env: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    found = shutil.which(name)
    if found:
        return found
    home = os.environ.get("CARGO_HOME") or os.path.join(os.path.expanduser("~"), ".cargo")
    p = os.path.join(home, "bin", name)
    return p if os.path.isfile(p) else None


def ensure_garage() -> str:
    g = find_binary("garage", "GARAGE_BIN")
    if g:
        return g
    log("installing Garage 2.5.0 (the reference S3 server; once, ~11 min): "
        + " ".join(GARAGE_INSTALL))
    subprocess.run(GARAGE_INSTALL, check=True)
    g = find_binary("garage", "GARAGE_BIN")
    if not g:
        die("garage is still missing after cargo install")
    return g


def ensure_tools() -> dict[str, str]:
    tools = {}
    if not os.path.exists(TIME):
        die(f"{TIME} is missing: apt-get install -y time")
    rc = shutil.which("rclone")
    if not rc:
        die("rclone is missing: apt-get install -y rclone")
    tools["rclone"] = rc
    aws = shutil.which("aws")
    if not aws:
        die("the aws cli is missing: pip install awscli")
    # A pyenv shim is a shell script that starts the real one: run the real one, so the shim's
    # own start-up is not charged to the aws cli.
    if "/shims/" in aws and shutil.which("pyenv"):
        real = run(["pyenv", "which", "aws"], check=False).stdout.strip()
        if real and os.path.isfile(real):
            aws = real
    tools["aws"] = aws
    tools["garage"] = ensure_garage()
    if os.environ.get("S3FERRY_BIN"):
        tools["s3ferry"] = os.environ["S3FERRY_BIN"]
    else:
        if not os.environ.get("BENCH_NO_BUILD"):
            log("cargo build --release (may wait for the cargo lock)")
            subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
        tools["s3ferry"] = str(REPO / "target" / "release" / "s3ferry")
    if not os.path.isfile(tools["s3ferry"]):
        die(f"no s3ferry binary at {tools['s3ferry']}")
    return tools


def source_state() -> tuple[str, str]:
    """The commit and the uncommitted diff of what the build reads (src/, Cargo.toml/lock)."""
    head = run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=REPO).stdout.strip()
    diff = run(["git", "diff", "HEAD", "--", "src", "Cargo.toml", "Cargo.lock"], check=False,
               cwd=REPO).stdout
    untracked = run(["git", "ls-files", "--others", "--exclude-standard", "--", "src"],
                    check=False, cwd=REPO).stdout
    return head or "?", diff + untracked


def pin_binary(path: str, root: Path) -> str:
    """A private copy, so a rebuild of target/ during the benchmark cannot swap the binary."""
    (root / "bin").mkdir()
    dst = root / "bin" / "s3ferry"
    shutil.copy2(path, dst)
    return str(dst)


def version(cmd: list[str]) -> str:
    try:
        p = run(cmd, check=False, timeout=60)
        out = (p.stdout + p.stderr).strip().splitlines()
        return out[0].strip() if out else "?"
    except Exception as e:  # noqa: BLE001
        return f"? ({e})"


# ---------------------------------------------------------------------------------------------
# Garage
# ---------------------------------------------------------------------------------------------

CHILDREN: list[subprocess.Popen] = []


def kill_children() -> None:
    for c in CHILDREN:
        if c.poll() is None:
            try:
                os.killpg(c.pid, signal.SIGTERM)
            except OSError:
                pass
    for c in CHILDREN:
        try:
            c.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(c.pid, signal.SIGKILL)
            except OSError:
                pass


@dataclass
class Endpoint:
    name: str
    url: str
    key: str
    secret: str
    garage: str
    conf: Path

    def cli(self, *args: str) -> str:
        return run([self.garage, "-c", str(self.conf), *args]).stdout


def start_garage(garage: str, name: str, root: Path, seed: int) -> Endpoint:
    """One single-node Garage as in tests/common/servers.rs and S3-SERVERS.md."""
    d = root / f"garage-{name}"
    d.mkdir()
    s3, rpc, admin = free_port(), free_port(), free_port()
    rnd = random.Random(f"s3ferry-bench-garage-{seed}")
    rpc_secret = rnd.randbytes(32).hex()
    conf = d / "garage.toml"
    conf.write_text(f'''metadata_dir = "{d / 'meta'}"
data_dir = "{d / 'data'}"
db_engine = "lmdb"
replication_factor = 1
metadata_fsync = false
data_fsync = false
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
''')
    logfile = d / "garage.log"
    with open(logfile, "w") as lf:
        child = subprocess.Popen([garage, "-c", str(conf), "server"], stdin=subprocess.DEVNULL,
                                 stdout=lf, stderr=lf, start_new_session=True)
    CHILDREN.append(child)
    wait_port(rpc, f"garage {name}", logfile)
    ep = Endpoint(name, f"http://127.0.0.1:{s3}", "GK" + rnd.randbytes(12).hex(),
                  rnd.randbytes(32).hex(), garage, conf)
    node = ep.cli("node", "id", "-q").strip().split("@")[0]
    ep.cli("layout", "assign", "-z", "dc1", "-c", "10G", node)
    ep.cli("layout", "apply", "--version", "1")
    ep.cli("key", "import", "--yes", "-n", f"bench-{name}", ep.key, ep.secret)
    ep.cli("key", "allow", "--create-bucket", ep.key)
    wait_port(s3, f"garage {name} S3 API", logfile)
    return ep


def create_bucket(ep: Endpoint, bucket: str) -> None:
    ep.cli("bucket", "create", bucket)
    ep.cli("bucket", "allow", "--read", "--write", "--owner", bucket, "--key", ep.key)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

@dataclass
class Data:
    big: Path
    big_size: int
    small_dir: Path
    small_count: int
    small_size: int
    small_md5: dict[str, str] = field(default_factory=dict)
    big_sha256: str = ""


def generate(root: Path, big_mib: int, count: int, kib: int) -> Data:
    """Deterministic pseudo-random bytes (Python's seeded Mersenne Twister), distinct per MiB of
    the big file and per small file, so no two blocks deduplicate on the servers."""
    big_dir, small_dir = root / "data" / "big", root / "data" / "small"
    big_dir.mkdir(parents=True)
    small_dir.mkdir(parents=True)
    big = big_dir / "big.bin"
    rnd = random.Random("s3ferry-bench-big-v1")
    sha = hashlib.sha256()
    with open(big, "wb") as f:
        for _ in range(big_mib):
            chunk = rnd.randbytes(MIB)
            sha.update(chunk)
            f.write(chunk)
    data = Data(big, big_mib * MIB, small_dir, count, kib * 1024, big_sha256=sha.hexdigest())
    rnd = random.Random("s3ferry-bench-small-v1")
    for i in range(count):
        b = rnd.randbytes(kib * 1024)
        name = f"f{i:05d}.bin"
        (small_dir / name).write_bytes(b)
        data.small_md5[name] = hashlib.md5(b).hexdigest()
    return data


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------

ROWS = {
    "ab_big": "1 GiB object, endpoint A → endpoint B",
    "ab_small": "2,000 × 64 KiB, A → B",
    "up_small": "upload 2,000 × 64 KiB",
    "down_small": "download 2,000 × 64 KiB",
    "up_big": "upload one 1 GiB file",
    "ss_big": "server-side copy 1 GiB, same endpoint",
    "ss_small": "server-side copy 2,000 × 64 KiB",
}
TOOLS = {
    "s3ferry": "s3ferry",
    "rclone": "rclone",
    "rclone16": "rclone `--transfers 16`",
    "aws": "aws cli",
    "s3ferry_staged": "s3ferry `--mode staged`",
}
PEERS = ["rclone", "rclone16", "aws"]
SHORT = {"rclone": "rclone", "rclone16": "rclone 16", "aws": "aws"}
# The extra tool only runs where it means something.
EXTRA_ROWS = {"s3ferry_staged": {"ab_big", "ab_small"}}


@dataclass
class Measurement:
    tool: str
    row: str
    run: int
    ok: bool
    wall: float = 0.0
    rss_mib: float = 0.0
    cpu: float = 0.0
    load1: float = 0.0
    compilers: int = 0
    why: str = ""


class Bench:
    def __init__(self, root: Path, tools: dict[str, str], data: Data, a: Endpoint, b: Endpoint,
                 checksums: str, timeout: float):
        self.root, self.tools, self.data, self.a, self.b = root, tools, data, a, b
        self.timeout = timeout
        self.checksums = checksums
        self.down = root / "down"
        self.stage = root / "aws-stage"
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        self.logs = root / "logs"
        self.logs.mkdir()
        self.n = 0
        # s3ferry: one config with both endpoints, keys inline (chmod 600).
        cfg = root / "s3ferry.toml"
        cfg.write_text("".join(
            f'[endpoints.{e.name}]\nurl = "{e.url}"\nregion = "us-east-1"\n'
            f'access_key_id = "{e.key}"\nsecret_access_key = "{e.secret}"\n'
            f'checksums = "{checksums}"\n\n' for e in (a, b)))
        cfg.chmod(0o600)
        self.s3ferry_cfg = cfg
        # aws cli: one profile per endpoint.
        (root / "aws-config").write_text("".join(
            f"[profile {e.name}]\nregion = us-east-1\nendpoint_url = {e.url}\n"
            f"s3 =\n  addressing_style = path\n\n" for e in (a, b)))
        (root / "aws-credentials").write_text("".join(
            f"[{e.name}]\naws_access_key_id = {e.key}\naws_secret_access_key = {e.secret}\n\n"
            for e in (a, b)))
        (root / "rclone.conf").write_text("")
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "RCLONE_", "S3FERRY_"))}
        base["TMPDIR"] = str(self.tmp)
        for e in (a, b):
            p = f"RCLONE_CONFIG_{e.name.upper()}_"
            base.update({p + "TYPE": "s3", p + "PROVIDER": "Other", p + "ENDPOINT": e.url,
                         p + "FORCE_PATH_STYLE": "true", p + "ACCESS_KEY_ID": e.key,
                         p + "SECRET_ACCESS_KEY": e.secret, p + "REGION": "us-east-1"})
        base.update({
            "RCLONE_CONFIG": str(root / "rclone.conf"),
            "AWS_CONFIG_FILE": str(root / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "aws-credentials"),
            "AWS_REQUEST_CHECKSUM_CALCULATION": checksums,
            "AWS_RESPONSE_CHECKSUM_VALIDATION": checksums,
            "S3FERRY_CONFIG": str(cfg),
            "S3FERRY_HISTORY": str(root / "s3ferry-history.jsonl"),
            "XDG_CONFIG_HOME": str(root / "xdg-config"),
            "XDG_DATA_HOME": str(root / "xdg-data"),
        })
        self.env = base

    # -- helpers ------------------------------------------------------------------------------

    def rclone(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return run([self.tools["rclone"], *args], env=self.env, timeout=timeout)

    def s3_size(self, remote: str) -> tuple[int, int]:
        out = json.loads(self.rclone("size", "--json", remote).stdout)
        return int(out["count"]), int(out["bytes"])

    def seed(self) -> None:
        """The sources: bucket `src` on A; also `seed` on B, so that both endpoints already hold
        every block before any timed run (Garage skips writing a block it holds)."""
        for ep, bucket in ((self.a, "src"), (self.a, "dst"), (self.b, "seed"), (self.b, "dst")):
            create_bucket(ep, bucket)
        deadline = time.monotonic() + 30
        while True:  # the layout takes a moment to reach the S3 API
            try:
                self.rclone("lsf", "a:src")
                self.rclone("lsf", "b:seed")
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        for remote in ("a:src", "b:seed"):
            self.rclone("copy", str(self.data.big.parent), f"{remote}/big", "--transfers", "4",
                        timeout=1800)
            self.rclone("copy", str(self.data.small_dir), f"{remote}/small", "--transfers", "16",
                        timeout=1800)
            assert self.s3_size(f"{remote}/big") == (1, self.data.big_size), remote
            assert self.s3_size(f"{remote}/small") == (
                self.data.small_count, self.data.small_count * self.data.small_size), remote

    def clear(self) -> None:
        for remote in ("a:dst", "b:dst"):
            if self.s3_size(remote)[0]:
                self.rclone("delete", remote, "--checkers", "16")
                if self.s3_size(remote)[0]:
                    raise RuntimeError(f"{remote} is not empty after clearing")
        for d in (self.down, self.stage):
            shutil.rmtree(d, ignore_errors=True)
        for p in self.tmp.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()

    # -- commands -----------------------------------------------------------------------------

    def commands(self, tool: str, row: str) -> list[list[list[str]]]:
        """Steps run one after the other; each step is one command or a pipeline of several."""
        big, small = str(self.data.big), str(self.data.small_dir)
        down = str(self.down / "small")
        if tool in ("s3ferry", "s3ferry_staged"):
            s = [self.tools["s3ferry"], "cp", "--json"]
            if tool == "s3ferry_staged":
                s += ["--mode", "staged"]
            return [[{
                "ab_big": s + ["a:src/big/big.bin", "b:dst/big/"],
                "ab_small": s + ["-r", "a:src/small/", "b:dst/small/"],
                "up_small": s + ["-r", small + "/", "a:dst/small/"],
                "down_small": s + ["-r", "a:src/small/", down + "/"],
                "up_big": s + [big, "a:dst/big/"],
                "ss_big": s + ["a:src/big/big.bin", "a:dst/big/"],
                "ss_small": s + ["-r", "a:src/small/", "a:dst/small/"],
            }[row]]]
        if tool in ("rclone", "rclone16"):
            r = [self.tools["rclone"]]
            if tool == "rclone16":
                r += ["--transfers", "16"]
            return [[{
                "ab_big": r + ["copyto", "a:src/big/big.bin", "b:dst/big/big.bin"],
                "ab_small": r + ["copy", "a:src/small", "b:dst/small"],
                "up_small": r + ["copy", small, "a:dst/small"],
                "down_small": r + ["copy", "a:src/small", down],
                "up_big": r + ["copyto", big, "a:dst/big/big.bin"],
                "ss_big": r + ["copyto", "a:src/big/big.bin", "a:dst/big/big.bin"],
                "ss_small": r + ["copy", "a:src/small", "a:dst/small"],
            }[row]]]
        if tool == "aws":
            def aws(profile: str, *args: str) -> list[str]:
                ep = self.a if profile == "a" else self.b
                return [self.tools["aws"], "--profile", profile, "--endpoint-url", ep.url,
                        "s3", *args]
            stage = str(self.stage / "small") + "/"
            return {
                # No cross-endpoint copy in the aws cli: a pipe for the big object, a staging
                # folder for the small files (as S3-SERVERS.md measured it).
                "ab_big": [[aws("a", "cp", "s3://src/big/big.bin", "-"),
                            aws("b", "cp", "-", "s3://dst/big/big.bin",
                                "--expected-size", str(self.data.big_size))]],
                "ab_small": [[aws("a", "cp", "--recursive", "--only-show-errors",
                                  "s3://src/small/", stage)],
                             [aws("b", "cp", "--recursive", "--only-show-errors", stage,
                                  "s3://dst/small/")]],
                "up_small": [[aws("a", "cp", "--recursive", "--only-show-errors", small + "/",
                                  "s3://dst/small/")]],
                "down_small": [[aws("a", "cp", "--recursive", "--only-show-errors",
                                    "s3://src/small/", down + "/")]],
                "up_big": [[aws("a", "cp", "--only-show-errors", big, "s3://dst/big/big.bin")]],
                "ss_big": [[aws("a", "cp", "--only-show-errors", "s3://src/big/big.bin",
                                "s3://dst/big/big.bin")]],
                "ss_small": [[aws("a", "cp", "--recursive", "--only-show-errors",
                                  "s3://src/small/", "s3://dst/small/")]],
            }[row]
        raise KeyError(tool)

    def expected(self, row: str) -> tuple[str, int, int]:
        d = self.data
        big = (1, d.big_size)
        small = (d.small_count, d.small_count * d.small_size)
        return {
            "ab_big": ("b:dst/big", *big), "ab_small": ("b:dst/small", *small),
            "up_small": ("a:dst/small", *small), "down_small": (str(self.down / "small"), *small),
            "up_big": ("a:dst/big", *big), "ss_big": ("a:dst/big", *big),
            "ss_small": ("a:dst/small", *small),
        }[row]

    def verify(self, tool: str, row: str, stdouts: list[str]) -> str:
        """'' when the destination holds exactly what the row should have moved."""
        where, count, size = self.expected(row)
        if row == "down_small":
            files = [p for p in Path(where).rglob("*") if p.is_file()] if Path(where).is_dir() else []
            got = (len(files), sum(p.stat().st_size for p in files))
            if got != (count, size):
                return f"local destination has {got[0]} files / {got[1]} bytes, expected {count} / {size}"
            bad = [p.name for p in files
                   if hashlib.md5(p.read_bytes()).hexdigest() != self.data.small_md5.get(p.name)]
            if bad:
                return f"{len(bad)} downloaded files differ from the source, e.g. {bad[0]}"
        else:
            got = self.s3_size(where)
            if got != (count, size):
                return f"{where} has {got[0]} objects / {got[1]} bytes, expected {count} / {size}"
            if "small" in row:
                # Single-part objects: the ETag is the MD5 of the content.
                sums = {}
                for line in self.rclone("md5sum", where).stdout.splitlines():
                    h, _, name = line.partition("  ")
                    sums[name.strip()] = h.strip()
                bad = [n for n, h in self.data.small_md5.items() if sums.get(n) != h]
                if bad:
                    return f"{len(bad)} objects' MD5 differ from the source, e.g. {bad[0]}"
        leftovers = list(self.tmp.iterdir())
        if leftovers:
            return f"left {len(leftovers)} files in its temp dir, e.g. {leftovers[0].name}"
        if tool.startswith("s3ferry"):
            try:
                rep = json.loads(stdouts[-1].strip().splitlines()[-1])
            except (IndexError, ValueError):
                return "no JSON summary on stdout"
            want = {"ab_big": "streamed", "ab_small": "streamed", "up_small": "upload",
                    "up_big": "upload", "down_small": "download", "ss_big": "server-side",
                    "ss_small": "server-side"}[row]
            if tool == "s3ferry_staged":
                want = "staged"
            # {"status": "finished", "mode": "streamed", "objects": N, ...}; "mode" joins several
            # routes with "+".
            if rep.get("status") != "finished":
                return f"JSON summary says status {rep.get('status')!r}, expected 'finished'"
            if rep.get("mode") != want:
                return f"JSON summary says mode {rep.get('mode')!r}, expected {want!r}"
            if rep.get("objects") != count:
                return f"JSON summary says {rep.get('objects')!r} objects, expected {count}"
        return ""

    # -- one timed run ------------------------------------------------------------------------

    def measure(self, tool: str, row: str, run_no: int) -> Measurement:
        self.clear()
        subprocess.run(["sync"])
        time.sleep(float(os.environ.get("BENCH_PAUSE", "1")))
        m = Measurement(tool, row, run_no, ok=False)
        m.load1 = float(Path("/proc/loadavg").read_text().split()[0])
        m.compilers = count_compilers()
        steps = self.commands(tool, row)
        stdouts, rss_steps, cpu, why = [], [], 0.0, ""
        t0 = time.monotonic()
        for step in steps:
            procs, outs = [], []
            prev = None
            for i, cmd in enumerate(step):
                self.n += 1
                tf = self.logs / f"{self.n}.time"
                ef = open(self.logs / f"{self.n}.err", "w")
                last = i == len(step) - 1
                p = subprocess.Popen(
                    [TIME, "-f", "%e %U %S %M", "-o", str(tf), *cmd], env=self.env,
                    stdin=prev.stdout if prev else subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=ef, start_new_session=True)
                if prev:
                    prev.stdout.close()  # the next process owns the pipe now
                procs.append((p, tf, ef, cmd))
                prev = p
            try:
                out, _ = procs[-1][0].communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                for p, *_ in procs:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except OSError:
                        pass
                out, why = b"", f"timed out after {self.timeout:.0f} s"
            deadline = time.monotonic() + 60
            rss_step = 0.0
            for p, tf, ef, cmd in procs:
                try:
                    p.wait(timeout=max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                    why = why or f"timed out after {self.timeout:.0f} s"
                ef.close()
                if p.returncode != 0:
                    err = Path(ef.name).read_text().strip()[-800:]
                    why = why or f"exit {p.returncode}: {Path(cmd[0]).name}: {err}"
                lines = tf.read_text().strip().splitlines() if tf.exists() else []
                try:
                    e, u, s, rss = lines[-1].split()
                    cpu += float(u) + float(s)
                    rss_step += int(rss) / 1024  # a pipeline's processes run at once: sum
                except (IndexError, ValueError):
                    pass
            rss_steps.append(rss_step)
            stdouts.append(out.decode(errors="replace") if isinstance(out, bytes) else out)
            if why:
                break
        m.wall = time.monotonic() - t0
        m.rss_mib = max(rss_steps) if rss_steps else 0.0  # steps run one after another: max
        m.cpu = cpu
        if not why:
            why = self.verify(tool, row, stdouts)
        m.ok, m.why = not why, why
        return m


def count_compilers() -> int:
    n = 0
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() in ("rustc", "cc1", "cc1plus", "ld", "cargo"):
                    n += 1
            except OSError:
                pass
    return n


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def fmt_cell(ms: list[Measurement]) -> tuple[str, float | None]:
    ok = [m for m in ms if m.ok]
    if not ms:
        return "–", None
    if not ok:
        return "FAILED", None
    med = statistics.median(m.wall for m in ok)
    rss = max(m.rss_mib for m in ok)
    failed = len(ms) - len(ok)
    return f"{med:.2f} ({rss:.0f})" + (f" ⚠{failed} failed" if failed else ""), med


def report(results: list[Measurement], info: dict, out: Path, rows: list[str],
           tools: list[str]) -> None:
    by = {}
    for m in results:
        by.setdefault((m.tool, m.row), []).append(m)
    main_tools = [t for t in tools if t != "s3ferry_staged"]
    extra = "s3ferry_staged" in tools
    head = ["work"] + [TOOLS[t] for t in main_tools] + ["s3ferry ÷ best peer"]
    if extra:
        head.append(TOOLS["s3ferry_staged"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ratios = {}
    for r in rows:
        cells, meds = [], {}
        for t in main_tools:
            c, med = fmt_cell(by.get((t, r), []))
            cells.append(c)
            meds[t] = med
        peers = {t: v for t, v in meds.items() if t in PEERS and v is not None}
        if meds.get("s3ferry") is not None and peers:
            best = min(peers, key=peers.get)
            ratio = meds["s3ferry"] / peers[best]
            ratios[r] = (ratio, best)
            rc = f"**{ratio:.2f}** (vs {SHORT[best]})"
        else:
            rc = "–"
        row = [ROWS[r]] + cells + [rc]
        if extra:
            row.append(fmt_cell(by.get(("s3ferry_staged", r), []))[0])
        lines.append("| " + " | ".join(row) + " |")
    # CPU table
    cpu_lines = ["| work | " + " | ".join(TOOLS[t] for t in tools) + " |",
                 "|" + "---|" * (len(tools) + 1)]
    for r in rows:
        cells = []
        for t in tools:
            ok = [m for m in by.get((t, r), []) if m.ok]
            cells.append(f"{statistics.median(m.cpu for m in ok):.2f}" if ok else "–")
        cpu_lines.append(f"| {ROWS[r]} | " + " | ".join(cells) + " |")
    # All runs
    raw = ["| work | tool | run | wall s | peak RSS MiB | CPU s | load (1 min) | compilers running | result |",
           "|---|---|---|---|---|---|---|---|---|"]
    for m in results:
        raw.append(f"| {ROWS[m.row]} | {TOOLS[m.tool]} | {m.run} | {m.wall:.2f} | {m.rss_mib:.0f} | "
                   f"{m.cpu:.2f} | {m.load1:.2f} | {m.compilers} | "
                   f"{'ok' if m.ok else 'FAILED: ' + m.why.replace('|', '/').replace(chr(10), ' ')} |")
    loads = [m.load1 for m in results]
    busy = sum(1 for m in results if m.compilers)
    failures = [m for m in results if not m.ok]
    text = f"""# s3ferry benchmark results

Generated by `bench/bench.py` (see `bench/README.md`) on {info['date']}, {info['runs']} run(s) of
each (tool, work); **median wall seconds, and in brackets the client's peak resident memory in
MiB** (largest over the runs). Two Garage 2.5 endpoints on loopback, each with its own keys, as in
the reference table "What they did on the same work" of the team's S3-SERVERS.md (same rows,
same sizes).
The ratio is s3ferry's median ÷ the fastest peer's (rclone, rclone `--transfers 16`, aws cli) on
that row: below 1 s3ferry is faster.

{chr(10).join(lines)}

## Machine and versions

- {info['cores']} CPU cores ({info['cpu']}), {info['mem']} RAM, Linux {info['kernel']}
- load average (1 min) at the start {info['load_start']}, at the end {info['load_end']}; during the timed
  runs min {min(loads, default=0):.2f} / median {statistics.median(loads) if loads else 0:.2f} / max {max(loads, default=0):.2f};
  a compiler (rustc/cargo/cc/ld) was running beside {busy} of the {len(results)} timed runs
- s3ferry {info['s3ferry']} (release build, commit {info['commit']})
- {info['rclone']}
- {info['aws']}
- {info['garage']}
- data: one {info['big_mib']} MiB file (SHA-256 `{info['big_sha256'][:16]}…`) and {info['small_count']} × {info['small_kib']} KiB files, pseudo-random
  from fixed seeds (Python's `random.Random("s3ferry-bench-…-v1").randbytes`)
- checksum settings: s3ferry `checksums = "{info['checksums']}"`, aws cli
  `AWS_REQUEST_CHECKSUM_CALCULATION` / `AWS_RESPONSE_CHECKSUM_VALIDATION` = `{info['checksums']}`
  (both send CRC32 with uploads when `when_supported`); rclone has no such setting (it sends
  Content-MD5 on single-part uploads and keeps the MD5 in metadata for multipart ones).

## Notes

- Each tool runs with its defaults: s3ferry 8 files at once, 8 MiB parts, 4 parts per object at once;
  rclone 4 transfers (or 16), 5 MiB chunks, 4 chunks per file at once; aws cli 10 requests at once,
  8 MiB parts. The destination is emptied before every run; the tools are interleaved (all tools
  on a row, then the next row, then the next run).
- **aws cli A → B**: the aws cli cannot copy between two endpoints. The 1 GiB object goes through a
  pipe (`aws s3 cp s3://… - | aws s3 cp - s3://… --expected-size N`; its memory is the two processes'
  sum); the 2,000 files are downloaded to a local folder with `aws s3 cp --recursive`, then
  uploaded the same way (the time is the sum; memory the larger of the two). This is what the
  reference table measured.
- Peak memory is `/usr/bin/time -v`'s "Maximum resident set size" of the client process. CPU is its
  user + system seconds (the servers' CPU is not counted; on 2 cores the two Garage processes
  compete with the client).
- Every run is checked after it ends: the destination must hold exactly the expected number of
  objects/files and bytes (`rclone size`), the small files' MD5 must match the source (ETags of
  single-part objects; downloaded files hashed), no temporary file may be left behind, and s3ferry's
  `--json` summary must name the expected route (server-side / streamed / staged / upload / download)
  and file count. A failed run is reported and left out of the median.
- Garage keeps data in content-addressed blocks and skips writing a block it already holds. Both
  endpoints hold the whole data set before the timed runs (bucket `src` on A, `seed` on B), so in
  every run the servers hash and acknowledge blocks without writing new ones to disk, equally for
  every tool. Garage's server-side copy is a metadata copy (~0.3 s for 1 GiB on this kind of machine).
- The machine has {info['cores']} cores, shared with other work: the numbers are noisy. Compare tools
  within this run, as ratios; see the load figures above and the per-run table below.
{info.get('extra_notes', '')}
## CPU seconds of the client (median, user + system)

{chr(10).join(cpu_lines)}

## Every run

{chr(10).join(raw)}
"""
    if failures:
        text += f"\n**{len(failures)} run(s) failed** (see above).\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(
        {"info": info, "results": [m.__dict__ for m in results]}, indent=1))
    log(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out.name}")


def serve(bench: Bench) -> None:
    """`bench.py serve`: the same endpoints and data, kept up for manual runs and profiling."""
    keys = [k for k in bench.env if k.startswith(("RCLONE_", "AWS_", "S3FERRY_"))]
    env_sh = bench.root / "env.sh"
    drop = sorted(k for k in os.environ if k.startswith(("RCLONE_", "AWS_", "S3FERRY_"))
                  and k not in bench.env)
    env_sh.write_text("".join(f"unset {k}\n" for k in drop)
                      + "".join(f"export {k}='{bench.env[k]}'\n" for k in sorted(keys))
                      + f"export S3FERRY='{bench.tools['s3ferry']}'\n"
                      + f"export DATA='{bench.data.small_dir.parent}'\n")
    print(f"""Endpoints a ({bench.a.url}) and b ({bench.b.url}) are up, with buckets a:src, a:dst,
b:seed, b:dst. In another shell:
  . {env_sh}
  "$S3FERRY" cp a:src/big/big.bin b:dst/big/      # $S3FERRY: the binary under test
  (the env gives s3ferry its config, rclone the remotes a and b, the aws cli profiles a and b;
  the data is in $DATA)
  rclone delete b:dst                             # empty a destination
Ctrl-C (or SIGTERM) stops the servers and removes {bench.root}.""", flush=True)
    try:
        while all(c.poll() is None for c in CHILDREN):
            time.sleep(1)
        log("a Garage server exited")
    except KeyboardInterrupt:
        pass


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    if args not in ([], ["serve"]):
        die(f"unknown arguments {' '.join(args)!r}; usage: bench.py [serve] (settings via the "
            "environment, see --help)")
    runs = env_int("BENCH_RUNS", 3)
    rows = env_list("BENCH_ROWS") or list(ROWS)
    tools = env_list("BENCH_TOOLS") or list(TOOLS)
    for r in rows:
        if r not in ROWS:
            die(f"unknown row {r!r}; rows: {' '.join(ROWS)}")
    for t in tools:
        if t not in TOOLS:
            die(f"unknown tool {t!r}; tools: {' '.join(TOOLS)}")
    checksums = os.environ.get("BENCH_CHECKSUMS", "when_supported")
    if checksums not in ("when_supported", "when_required"):
        die("BENCH_CHECKSUMS must be when_supported or when_required")
    out = Path(os.environ.get("BENCH_OUT", BENCH / "RESULTS.md")).resolve()
    big_mib = env_int("BENCH_BIG_MIB", 1024)
    count, kib = env_int("BENCH_SMALL_COUNT", 2000), env_int("BENCH_SMALL_KIB", 64)
    timeout = float(env_int("BENCH_TIMEOUT", 900))

    before = source_state()
    exe = ensure_tools()
    after = source_state()
    if os.environ.get("S3FERRY_BIN"):
        build_label = "unknown (S3FERRY_BIN; set BENCH_S3FERRY_COMMIT)"
    elif os.environ.get("BENCH_NO_BUILD"):
        build_label = (f"{after[0]}{' + uncommitted changes' if after[1] else ''} "
                       "(BENCH_NO_BUILD: the existing binary, which may be older)")
    elif before != after:
        build_label = (f"{after[0]}{' + uncommitted changes' if after[1] else ''} "
                       "(the source changed while it was built: not exactly identified)")
    else:
        build_label = f"{after[0]}{' + uncommitted changes' if after[1] else ''}"
    parent = os.environ.get("BENCH_TMPDIR") or None
    need = (big_mib * MIB + count * kib * 1024) * 6
    free = shutil.disk_usage(parent or tempfile.gettempdir()).free
    if free < need * 1.2:
        die(f"not enough disk: {free // MIB} MiB free, about {need // MIB} MiB needed")
    root = Path(tempfile.mkdtemp(prefix="s3ferry-bench-", dir=parent))
    keep = bool(os.environ.get("BENCH_KEEP"))
    exe["s3ferry"] = pin_binary(exe["s3ferry"], root)

    def cleanup() -> None:
        kill_children()
        if keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background

    info = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": runs, "cores": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                     if l.startswith("model name")), platform.processor() or "?"),
        "mem": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "kernel": platform.release(),
        "load_start": Path("/proc/loadavg").read_text().split()[0],
        "s3ferry": version([exe["s3ferry"], "--version"]).replace("s3ferry ", ""),
        "commit": os.environ.get("BENCH_S3FERRY_COMMIT") or build_label,
        "rclone": version([exe["rclone"], "version"]),
        "aws": version([exe["aws"], "--version"]),
        "garage": "Garage " + version([exe["garage"], "--version"]).replace("garage ", "").replace("cargo:", ""),
        "big_mib": big_mib, "small_count": count, "small_kib": kib, "checksums": checksums,
        "extra_notes": os.environ.get("BENCH_NOTES", ""),
    }
    if info["extra_notes"]:
        info["extra_notes"] = "- " + info["extra_notes"] + "\n"

    log(f"generating data in {root}")
    data = generate(root, big_mib, count, kib)
    info["big_sha256"] = data.big_sha256
    log("starting two Garage endpoints")
    a = start_garage(exe["garage"], "a", root, 1)
    b = start_garage(exe["garage"], "b", root, 2)
    bench = Bench(root, exe, data, a, b, checksums, timeout)
    log("seeding src on A and seed on B")
    bench.seed()

    if args == ["serve"]:
        serve(bench)
        return
    results: list[Measurement] = []
    plan = [(t, r) for r in rows for t in tools if r in EXTRA_ROWS.get(t, set(ROWS))]
    for run_no in range(1, runs + 1):
        for i, (tool, row) in enumerate(plan):
            m = bench.measure(tool, row, run_no)
            results.append(m)
            log(f"run {run_no}/{runs} [{i + 1}/{len(plan)}] {row:10} {tool:14} "
                + (f"{m.wall:7.2f} s {m.rss_mib:6.0f} MiB cpu {m.cpu:6.2f} s load {m.load1:.2f}"
                   if m.ok else f"FAILED after {m.wall:.2f} s: {m.why}"))
        info["load_end"] = Path("/proc/loadavg").read_text().split()[0]
        # After every run, so partial results survive; beside the real file until the last run,
        # so an interrupted benchmark never replaces a complete one.
        last = run_no == runs
        report(results, info, out if last else out.with_name(out.stem + ".partial.md"), rows, tools)
    partial = out.with_name(out.stem + ".partial.md")
    for p in (partial, partial.with_suffix(".json")):
        p.unlink(missing_ok=True)
    bench.clear()


if __name__ == "__main__":
    main()
