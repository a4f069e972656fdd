"""The lab: a real IPVS kernel under qemu (vm) and network-namespace topologies (netns).

Development tooling, run from the checkout's root (`python -m lab.vm`), not installed: a child
`python -m lab.X` runs with the checkout as its working directory. Not part of the .deb/.rpm
(tests/packaging checks that)."""
