"""Prometheus metrics of real-server health and of the check engine (node_exporter's textfile
collector format): exposition (the text format), families (what lvsocf exports), files
(atomic .prom files)."""
