"""What the reports read and count: the report data as pandas frames, built from
the rows each domain's own queries answer (``service_levels`` is the whole
service-levels report; its tables are built in the modules of their subjects).
Rendering them is ``reports.render``'s."""
