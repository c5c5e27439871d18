#!/usr/bin/env bash
# Make sure a Docker engine answers, starting one if needed, and that the tools the tests use are
# installed. Idempotent: when an engine already answers on DOCKER_HOST or the local socket, it starts nothing.
set -euo pipefail

SOCK=/var/run/docker.sock
LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-60}

engine_answers() {
  if [[ -n "${DOCKER_HOST:-}" ]]; then
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1
  else
    [[ -S "$SOCK" ]] && curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1
  fi
}

missing=()
engine_answers || command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[[ -x /bin/busybox || -x /usr/bin/busybox ]] || missing+=(busybox-static)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# What the tests use beside the engine: a pseudo-terminal for prompts (script), a private second
# engine in its own network namespace (ip, nsenter), certificates and SSH host keys (openssl, ssh-keygen).
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
# The Ansible playbook in contrib/ansible, run against localhost: ansible-core alone lacks the
# ansible.posix collection (synchronize), which Debian ships in its `ansible` package; rsync under it.
ansible-doc -t module ansible.posix.synchronize 2>/dev/null | grep -q '^> ANSIBLE.POSIX.SYNCHRONIZE' ||
  missing+=(ansible)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
if ((${#missing[@]})); then
  echo "ensure-docker: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if engine_answers; then
  echo "ensure-docker: engine already answers" >&2
  exit 0
fi
if [[ -n "${DOCKER_HOST:-}" ]]; then
  echo "ensure-docker: DOCKER_HOST=$DOCKER_HOST does not answer; unset it to start a local engine" >&2
  exit 3
fi

alive() { # a live, non-zombie process with this pid
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) && [[ -n "$state" && "$state" != Z* ]]
}

# A daemon killed at the end of a session leaves its pid file behind, which blocks the next start;
# a dying one can linger a moment as a zombie, which must not count as running either.
if [[ -f /var/run/docker.pid ]] && ! alive "$(cat /var/run/docker.pid)"; then
  rm -f /var/run/docker.pid
fi
rm -f /var/run/docker/containerd/containerd.pid 2>/dev/null || true

if [[ ! -f /var/run/docker.pid ]]; then
  echo "ensure-docker: starting dockerd (log: $LOG)" >&2
  nohup dockerd >"$LOG" 2>&1 </dev/null &
else
  echo "ensure-docker: dockerd $(cat /var/run/docker.pid) is starting; waiting for it" >&2
fi

for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
  if engine_answers; then
    echo "ensure-docker: engine answers after $((i / 4)) s" >&2
    exit 0
  fi
  sleep 0.25
done
echo "ensure-docker: dockerd did not answer /_ping within ${WAIT_SECONDS}s; last log lines:" >&2
tail -n 20 "$LOG" >&2 || true
exit 3
