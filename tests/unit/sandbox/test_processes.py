import subprocess

from vibn_mail.sandbox.processes import alive, start_time, terminate


def test_terminate_stops_the_process_it_started() -> None:
    proc = subprocess.Popen(["sleep", "60"])
    started = start_time(proc.pid)
    assert alive(proc.pid, started)
    terminate(proc.pid, started, grace=5)
    assert not alive(proc.pid, started)


def test_a_reused_pid_is_never_killed() -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        started = start_time(proc.pid)
        assert started is not None
        # A recorded start time that does not match means "not our process any more".
        terminate(proc.pid, started + 1, grace=1)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
