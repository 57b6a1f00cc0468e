"""/proc helpers shared by the sandbox tests."""

import os


def live_pids_with_uid(uid: int) -> list[int]:
    """Live processes (any state but zombie) whose real, effective, saved or fs uid is `uid`.

    Zombies are dead: killed processes re-parented to PID 1 show up as zombies until PID 1 reaps
    them, which on this machine's init takes a moment."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if str(uid) in fields.get("Uid", "").split() and not fields.get("State", "").strip().startswith("Z"):
            found.append(int(entry))
    return found
