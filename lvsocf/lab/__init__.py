"""The lab: a real IPVS kernel under qemu (vm) and network-namespace topologies (netns)."""
