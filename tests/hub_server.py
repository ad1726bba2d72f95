"""A fake Hugging Face Hub: a threaded HTTP server on 127.0.0.1 that speaks enough of the Hub protocol for the real
``huggingface_hub`` client to create repositories, commit (regular and git-LFS uploads), branch, tag, list refs and
download files and snapshots.

Repositories live in memory as commits (``{path: File}``), branches and tags. Every request is recorded in
``FakeHub.requests`` as ``"METHOD /path"`` so tests can pin the protocol. Not thread-safe beyond one lock around
state changes, which is all the client needs.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class File:
    data: bytes
    lfs: bool = False

    @property
    def git_oid(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Repo:
    commits: dict[str, dict[str, File]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        return revision if revision in self.commits else None


_REPO = r"(?P<repo>[\w.\-]+/[\w.\-]+)"


class FakeHub:
    """The fake Hub. Use as a context manager, or ``start()`` / ``stop()``.

    Args:
        lfs_threshold: Files of at least this many bytes are uploaded through git-LFS; ``None``: never.
        sock: An already bound (not listening) socket to serve on; default: a new one on an ephemeral port.
    """

    def __init__(self, *, lfs_threshold: int | None = None, sock: socket.socket | None = None) -> None:
        self.lfs_threshold = lfs_threshold
        self.tokens: set[str] | None = None
        """When set, API writes (POST) need ``Authorization: Bearer <one of these>``; otherwise 401."""
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler, bind_and_activate=sock is None)
        if sock is not None:
            self._server.socket.close()
            self._server.socket = sock
            self._server.server_address = sock.getsockname()
            self._server.server_activate()
        self._server.daemon_threads = True
        self._server.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every repository, LFS object and recorded request."""
        with self._lock:
            self.repos.clear()
            self.lfs_objects.clear()
            self.requests.clear()
            self.tokens = None

    # -- state helpers, also used directly by tests

    def create_repo(self, repo_id: str) -> Repo:
        with self._lock:
            repo = self.repos[repo_id] = Repo()
            sha = self._new_sha()
            repo.commits[sha] = {".gitattributes": File(b"*.h5 filter=lfs diff=lfs merge=lfs -text\n")}
            repo.branches["main"] = sha
            return repo

    def commit(self, repo_id: str, files: dict[str, bytes | None], *, branch: str = "main") -> str:
        """Commit ``files`` (``None`` deletes a path) on top of ``branch``; returns the new commit sha."""
        return self._commit(self.repos[repo_id], branch, {p: None if d is None else File(d) for p, d in files.items()})

    def _commit(self, repo: Repo, branch: str, changes: dict[str, File | None]) -> str:
        with self._lock:
            files = dict(repo.commits[repo.branches[branch]])
            for path, file in changes.items():
                if file is None:
                    files.pop(path, None)
                else:
                    files[path] = file
            sha = self._new_sha()
            repo.commits[sha] = files
            repo.branches[branch] = sha
            return sha

    def _new_sha(self) -> str:
        return hashlib.sha1(f"commit-{next(self._counter)}-{id(self)}".encode()).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (silence the default stderr log)
        pass

    @property
    def hub(self) -> FakeHub:
        return self.server.hub  # type: ignore[attr-defined]

    # -- plumbing

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            for _ in range(1 << 20):
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: object, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(
            status,
            json.dumps({"error": message}).encode(),
            {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message},
        )

    def _route(self, method: str) -> None:
        path = unquote(urlsplit(self.path).path)
        self.hub.requests.append(f"{method} {path}")
        body = self._body() if method in ("POST", "PUT") else b""
        tokens = self.hub.tokens
        if tokens is not None and method == "POST":
            if self.headers.get("Authorization", "").removeprefix("Bearer ") not in tokens:
                return self._error(401, "Unauthorized", "Invalid credentials in Authorization header")
        for pattern, handler in _ROUTES.get(method, ()):
            match = re.fullmatch(pattern, path)
            if match:
                return handler(self, body, **match.groupdict())
        self._error(404, "NotFound", f"no route for {method} {path}")

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
        return repo

    def _revision(self, repo: Repo, revision: str) -> str | None:
        sha = repo.resolve(revision)
        if sha is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return sha

    # -- endpoints

    def create_repo(self, body: bytes) -> None:
        payload = json.loads(body)
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        url = f"{self.hub.endpoint}/{repo_id}"
        if repo_id in self.hub.repos:
            return self._json({"error": "You already created this model repo", "url": url}, status=409)
        self.hub.create_repo(repo_id)
        self._json({"url": url, "name": repo_id})

    def validate_yaml(self, body: bytes) -> None:
        self._json({"warnings": []})

    def preupload(self, body: bytes, repo: str, rev: str) -> None:
        if (r := self._repo(repo)) is None or self._revision(r, rev) is None:
            return
        threshold = self.hub.lfs_threshold
        files = [
            {
                "path": f["path"],
                "uploadMode": "lfs" if threshold is not None and f["size"] >= threshold else "regular",
                "shouldIgnore": False,
                "oid": None,
            }
            for f in json.loads(body)["files"]
        ]
        self._json({"files": files, "commitOid": r.resolve(rev)})

    def lfs_batch(self, body: bytes, repo: str) -> None:
        if self._repo(repo) is None:
            return
        objects = []
        for obj in json.loads(body)["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.hub.lfs_objects:
                entry["actions"] = {"upload": {"href": f"{self.hub.endpoint}/lfs-upload/{obj['oid']}", "header": {}}}
            objects.append(entry)
        self._json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def lfs_upload(self, body: bytes, oid: str) -> None:
        if hashlib.sha256(body).hexdigest() != oid:
            return self._error(400, "BadRequest", "sha256 of the uploaded bytes does not match the oid")
        self.hub.lfs_objects[oid] = body
        self._send(200)

    def commit(self, body: bytes, repo: str, rev: str) -> None:
        if (r := self._repo(repo)) is None:
            return
        if rev not in r.branches:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev} (commits go to branches)")
        changes: dict[str, File | None] = {}
        summary = ""
        for line in body.splitlines():
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                summary = value["summary"]
            elif key == "file":
                changes[value["path"]] = File(base64.b64decode(value["content"]))
            elif key == "lfsFile":
                if value["oid"] not in self.hub.lfs_objects:
                    return self._error(400, "BadRequest", f"LFS object {value['oid']} was never uploaded")
                changes[value["path"]] = File(self.hub.lfs_objects[value["oid"]], lfs=True)
            elif key in ("deletedFile", "deletedFolder"):
                changes[value["path"]] = None
            else:
                return self._error(400, "BadRequest", f"unsupported commit operation {key!r}")
        if not summary:
            return self._error(400, "BadRequest", "commit summary missing")
        sha = self.hub._commit(r, rev, changes)
        self._json({"success": True, "commitOid": sha, "commitUrl": f"{self.hub.endpoint}/{repo}/commit/{sha}"})

    def create_tag(self, body: bytes, repo: str, rev: str) -> None:
        if (r := self._repo(repo)) is None or (sha := self._revision(r, rev)) is None:
            return
        tag = json.loads(body)["tag"]
        if tag in r.tags:
            return self._error(409, "Conflict", f"Tag {tag} already exists")
        r.tags[tag] = sha
        self._json({})

    def create_branch(self, body: bytes, repo: str, name: str) -> None:
        if (r := self._repo(repo)) is None:
            return
        if name in r.branches:
            return self._error(409, "Conflict", f"Branch {name} already exists")
        start = (json.loads(body) if body else {}).get("startingPoint") or "main"
        if (sha := self._revision(r, start)) is not None:
            r.branches[name] = sha
            self._json({})

    def refs(self, body: bytes, repo: str) -> None:
        if (r := self._repo(repo)) is None:
            return
        ref = lambda kind, refs: [  # noqa: E731
            {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": sha} for name, sha in refs.items()
        ]
        self._json({"branches": ref("heads", r.branches), "tags": ref("tags", r.tags), "converts": []})

    def revision_info(self, body: bytes, repo: str, rev: str) -> None:
        if (r := self._repo(repo)) is None or (sha := self._revision(r, rev)) is None:
            return
        siblings = [{"rfilename": path} for path in sorted(r.commits[sha])]
        self._json({"id": repo, "modelId": repo, "sha": sha, "private": False, "siblings": siblings})

    def tree(self, body: bytes, repo: str, rev: str) -> None:
        if (r := self._repo(repo)) is None or (sha := self._revision(r, rev)) is None:
            return
        entries = []
        for path, file in sorted(r.commits[sha].items()):
            entry = {"type": "file", "oid": file.git_oid, "size": len(file.data), "path": path}
            if file.lfs:
                entry["lfs"] = {"oid": file.sha256, "size": len(file.data), "pointerSize": 134}
            entries.append(entry)
        self._json(entries)

    def resolve(self, body: bytes, repo: str, rev: str, path: str) -> None:
        if (r := self._repo(repo)) is None or (sha := self._revision(r, rev)) is None:
            return
        file = r.commits[sha].get(path)
        if file is None:
            return self._error(404, "EntryNotFound", f"{path} does not exist at {rev}")
        headers = {"X-Repo-Commit": sha, "ETag": f'"{file.git_oid}"', "Content-Length": str(len(file.data))}
        if file.lfs:
            headers.update({"X-Linked-Etag": f'"{file.sha256}"', "X-Linked-Size": str(len(file.data))})
        self._send(200, file.data, headers)


_ROUTES = {
    "POST": [
        (r"/api/repos/create", _Handler.create_repo),
        (r"/api/validate-yaml", _Handler.validate_yaml),
        (rf"/api/models/{_REPO}/preupload/(?P<rev>.+)", _Handler.preupload),
        (rf"/api/models/{_REPO}/commit/(?P<rev>.+)", _Handler.commit),
        (rf"/api/models/{_REPO}/tag/(?P<rev>.+)", _Handler.create_tag),
        (rf"/api/models/{_REPO}/branch/(?P<name>.+)", _Handler.create_branch),
        (rf"/{_REPO}\.git/info/lfs/objects/batch", _Handler.lfs_batch),
    ],
    "PUT": [(r"/lfs-upload/(?P<oid>[0-9a-f]{64})", _Handler.lfs_upload)],
    "GET": [
        (rf"/api/models/{_REPO}/refs", _Handler.refs),
        (rf"/api/models/{_REPO}/revision/(?P<rev>.+)", _Handler.revision_info),
        (rf"/api/models/{_REPO}/tree/(?P<rev>[^/]+)", _Handler.tree),
        (rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", _Handler.resolve),
    ],
    "HEAD": [(rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", _Handler.resolve)],
}
