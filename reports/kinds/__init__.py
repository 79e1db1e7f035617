"""The reports of the catalogue, one module each, named after the report
(``stock-status`` is ``reports.kinds.stock_status``); each declares its ``KIND``."""
