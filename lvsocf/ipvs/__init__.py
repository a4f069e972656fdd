"""The only code that talks to the kernel's IPVS: typed model, netlink backend, /proc and sysctl
readers, and reconcile. Import the submodules you need; netlink pulls in pyroute2 (costly), the
others do not."""
