"""Search use cases: ``find`` answers a query and shows what is at a place
(``search.service.find``); ``indexing`` keeps the stored keys current."""
