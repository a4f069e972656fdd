"""OCF resource agents for IPVS: the shared base and one module per agent.

Nothing here may import lxml, pyroute2 or requests at module level: Pacemaker forks an
agent for every monitor, and this package is on that path.
"""
