"""Device protocols as pure, sans-IO modules: bytes in, frames out, commands as exact bytes.

One module per protocol. None of them opens a port or reads a clock; the I/O owners in
:mod:`edge.devices` feed them whatever the port delivered.
"""
