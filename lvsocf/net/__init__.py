"""This host's network, as the agents need to see it (no IPVS here: see lvsocf.ipvs)."""
