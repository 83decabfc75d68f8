#!/usr/bin/env bash
# Runs inside the kernel lane in systemd mode (PackageLaneTests boots it): installs kraud-agent's .deb as an
# operator would, then exercises the agent's unit and kraud-vm@ and removes the package.
# Usage: in-lane.sh PATH/TO/kraud-agent_*.deb [OUT_DIR (default /lane-out)]
# Every step leaves what it saw in OUT_DIR and the script goes on after a failed step, so the host-side test
# asserts on files and a failure comes with its evidence (systemctl status, journal, command output).
set -u
deb=$1
out=${2:-/lane-out}
start=$EPOCHREALTIME

# mark STEP: seconds since the script started, one line per step (timings, for the report and for slow boots).
mark() { awk -v a="$start" -v b="$EPOCHREALTIME" -v s="$1" 'BEGIN { printf "%s\t%.1f\n", s, b - a }' >> "$out/timings"; }
# within SECONDS CMD...: polls CMD every 0.2 s until it succeeds; fails when the deadline passes.
within() { local end=$((SECONDS + $1)); shift; until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.2; done; }
# show UNIT FILE: the unit's state as key=value lines.
show() {
  systemctl show "$1" -p LoadState -p ActiveState -p SubState -p Type -p Result -p ExecMainCode -p ExecMainStatus \
    -p NRestarts -p Restart -p StatusText -p NotifyAccess -p MainPID > "$2" 2>&1
}
prop() { systemctl show -p "$2" --value "$1"; }
journal_has() { journalctl -u "$1" -o json --no-pager 2>/dev/null | grep -qE "$2"; }
deactivations() { journalctl -u kraud-agent -o cat --no-pager | grep -c 'Deactivated successfully'; }
agent_active() { [ "$(prop kraud-agent ActiveState)/$(prop kraud-agent SubState)" = active/running ]; }
agent_down() { [ "$(prop kraud-agent ActiveState)" != active ] && [ "$(prop kraud-agent ActiveState)" != deactivating ]; }
vm_ended() { case $(prop kraud-vm@bad ActiveState) in failed|inactive) return 0 ;; *) return 1 ;; esac; }

systemctl is-system-running --wait > "$out/system-state"
mark booted
# The lane starts PID 1 with --log-target=kmsg: its unit messages (Started, Stopping, Deactivated successfully,
# Failed with result) would reach the journal without UNIT=, so `journalctl -u` would miss them. A host logs there.
systemd-analyze set-log-target journal-or-kmsg
hostname -s > "$out/hostname"
# On a host, multi-user.target (active) wants the agent, which keeps its unit loaded after a stop with the
# result and exit status of its last run. The lane boots kraud-lane.target instead; without this stand-in
# systemd would unload the stopped unit at once and `systemctl show` would read a fresh one.
mkdir -p /run/systemd/system
printf '[Unit]\nDescription=stands in for multi-user.target\nWants=kraud-agent.service\n' > /run/systemd/system/lane-host.target

# The host root is a docker image whose policy-rc.d (exit 101) forbids package scripts to start services; a host
# an operator installs on has none, and the postinst's start is part of what this checks.
rm -f /usr/sbin/policy-rc.d
# Readable by apt's sandbox user, like a .deb an operator downloaded.
cp "$deb" /tmp/ && chmod 0644 "/tmp/$(basename "$deb")"
(cd /tmp && apt-get install -y "./$(basename "$deb")") > "$out/install.log" 2>&1
echo $? > "$out/install.rc"
mark installed
systemctl start lane-host.target >> "$out/install.log" 2>&1
systemd-analyze verify --man=no kraud-agent.service kraud-vm@bad.service > "$out/verify" 2>&1

# postinst: the configuration, the enablement, the start (deb-systemd-invoke waits for READY=1: Type=notify).
cp /etc/kraud/agent.json "$out/agent.json" 2>> "$out/install.log"
stat -c '%a %U:%G' /etc/kraud/agent.json /var/lib/kraud > "$out/config-stat" 2>&1
systemctl is-enabled kraud-agent.service > "$out/enabled" 2>&1
show kraud-agent "$out/agent-installed"
ls -l /usr/bin/kraud-agent /usr/bin/kraud-vmm /lib/systemd/system/kraud-agent.service /lib/systemd/system/kraud-vm@.service \
  > "$out/files-installed" 2>&1

# STATUS= while NATS is absent: record every value it takes until it settles on waiting for JetStream.
status_settled() {
  local s; s=$(prop kraud-agent StatusText)
  [ "$s" = "$(tail -n1 "$out/status-timeline" 2>/dev/null)" ] || echo "$s" >> "$out/status-timeline"
  case $s in "Waiting for NATS JetStream at "*) return 0 ;; *) return 1 ;; esac
}
within 90 status_settled
within 60 journal_has kraud-agent KRAUD_STATUS
# WatchdogSec=30s: the agent pings at a quarter of it; systemd stamps every WATCHDOG=1 it accepts.
wd0=$(prop kraud-agent WatchdogTimestampMonotonic)
watchdog_pinged() { [ "$(prop kraud-agent WatchdogTimestampMonotonic)" != "$wd0" ]; }
within 30 watchdog_pinged
echo "$(prop kraud-agent WatchdogUSec) $wd0 $(prop kraud-agent WatchdogTimestampMonotonic)" > "$out/watchdog"
show kraud-agent "$out/agent-running"
systemctl status kraud-agent --no-pager -l -n 30 > "$out/status-running.txt" 2>&1
mark running

# Stop: SIGTERM, STOPPING=1, the services stop within shutdownGraceSeconds, exit 0.
t=$EPOCHREALTIME
systemctl stop kraud-agent > "$out/stop.log" 2>&1
echo $? > "$out/stop.rc"
awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b - a }' > "$out/stop-seconds"
show kraud-agent "$out/agent-stopped"
systemctl status kraud-agent --no-pager -l -n 30 > "$out/status-stopped.txt" 2>&1
within 30 journal_has kraud-agent '"MESSAGE" ?: ?"stopped"'
journalctl -u kraud-agent -o json --no-pager > "$out/agent-journal.json" 2>&1
journalctl -u kraud-agent -o short-precise --no-pager > "$out/agent-journal.txt" 2>&1
mark stopped

# A VM whose launch file is refused (its kernel does not exist): kraud-vmm exits 65 before touching /dev/kvm.
mkdir -p /run/kraud/vm/bad
cat > /run/kraud/vm/bad/launch.json <<'JSON'
{ "id": "bad", "vcpus": 1, "memoryMiB": 64, "kernel": "/var/lib/kraud/images/no-such-vmlinux", "cmdline": "console=ttyS0" }
JSON
systemctl start kraud-vm@bad.service > "$out/vm-start.log" 2>&1
echo $? > "$out/vm-start.rc"
within 60 vm_ended
within 30 journal_has kraud-vm@bad.service refused
# Read after the journal wait, so a restart (RestartSec's 100 ms default) would have shown by now.
show kraud-vm@bad "$out/vm-ended"
systemctl status kraud-vm@bad --no-pager -l -n 30 > "$out/status-vm.txt" 2>&1
journalctl -u kraud-vm@bad -o json --no-pager > "$out/vm-journal.json" 2>&1
journalctl -u kraud-vm@bad -o short-precise --no-pager > "$out/vm-journal.txt" 2>&1
mark vm

# Removal of a running agent: prerm stops it, the files go, postrm reloads systemd.
systemctl start kraud-agent > "$out/restart.log" 2>&1
within 60 agent_active
show kraud-agent "$out/agent-before-remove"
before=$(deactivations); echo "$before" > "$out/deactivated-before-remove"
dpkg -r kraud-agent > "$out/remove.log" 2>&1
echo $? > "$out/remove.rc"
within 30 agent_down
show kraud-agent "$out/agent-removed"
one_more_deactivation() { [ "$(deactivations)" -gt "$before" ]; }
within 30 one_more_deactivation
deactivations > "$out/deactivated-after-remove"
{ pgrep -x kraud-agent || echo none; } > "$out/agent-processes-after-remove"
ls -l /usr/bin/kraud-agent /usr/bin/kraud-vmm /lib/systemd/system/kraud-agent.service /lib/systemd/system/kraud-vm@.service \
  > "$out/files-removed" 2>&1
dpkg-query -W -f='${Status}\n' kraud-agent > "$out/dpkg-status-removed" 2>&1
journalctl -u kraud-agent -o short-precise --no-pager > "$out/agent-journal-final.txt" 2>&1
mark removed
exit 0
