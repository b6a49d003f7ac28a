"""kvm-slotzap's test harness: the logic that decides what passed.

One module per fact: console.py (kernel splats and who caused them),
ktap.py (the runner's KTAP output), retry.py (when a failure is the test
platform's and may run again), results.py (statuses and the final verdict),
plan.py (the list files under tests/, validated). Unit tests: tests/.
"""
