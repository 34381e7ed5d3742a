"""Time `make_fixtures(root, seed, scale='eval')` with every dataset's caches (all leads): the seven downstream fixtures
written and cached, per dataset (wall and CPU seconds of writing and of caching) and in total.

    python benchmarks/eval_fixtures.py [--workers 2] [--scale eval]

CPU seconds are reported beside wall seconds because the machine may be shared: the load average at the start and at
the end is recorded with them. Writes `benchmarks/results/eval_fixtures_<time>.json` (with the machine and commit).
Run it by hand; it is not a timed test.
"""
import argparse, os, resource, tempfile, time
from pathlib import Path
from clef_nb.downstream import make_fixtures
from _record import start, write


def cpu_s()->float:
    "CPU seconds of this process and its finished children."
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--scale', default='eval')
    a = ap.parse_args()
    res, times = start('eval_fixtures', workers=a.workers, scale=a.scale, seed=0), {}
    with tempfile.TemporaryDirectory() as d:
        t, c = time.perf_counter(), cpu_s()
        make_fixtures(Path(d)/'data', 0, scale=a.scale, cache=Path(d)/'cache', workers=a.workers, times=times)
        wall, cpu = time.perf_counter() - t, cpu_s() - c
    load_end = round(os.getloadavg()[0], 2)
    print(f"{'dataset':12s} {'write s':>8s} {'(cpu)':>7s} {'cache s':>8s} {'(cpu)':>7s}")
    for ds, v in times.items(): print(f"{ds:12s} {v['write_s']:8.1f} {v['write_cpu_s']:7.1f} {v['cache_s']:8.1f} {v['cache_cpu_s']:7.1f}")
    print(f'total: {wall:.1f} s wall, {cpu:.1f} CPU s with {a.workers} workers; load average {res["machine"]["load_average_1min_at_start"]} at the start, {load_end} at the end')
    res.update(datasets={ds: {k: round(x, 1) for k, x in v.items()} for ds, v in times.items()}, total_s=round(wall, 1), total_cpu_s=round(cpu, 1),
               load_average_1min_at_end=load_end)
    write(res)


if __name__ == '__main__': main()
