"""Real servers on a developer's machine, for the tests, the demo and the benchmarks.

Not a workspace member and never deployed: it starts Mosquitto and InfluxDB from the system's
packages as child processes on free ports with data in a folder of its own, waits until they
answer and stops them. ``devstack.fixtures`` wraps them as pytest fixtures; ``devstack.demo``
runs the whole platform with a simulated city.
"""
