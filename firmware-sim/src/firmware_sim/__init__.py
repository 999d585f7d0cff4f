"""Device simulators that speak the real byte protocols on pseudo-terminals and TCP sockets.

Written from the protocol documents and importing no other Lantian package, so that a parser bug
in the edge agent cannot hide behind an implementation shared with its simulator.
"""
