"""The hidden-treasure library search: words, meaning and facets over every ranked post.

library.py   Library.search: one coordinator query (text, meaning, filters, facets, page), kept
             answers for identical questions; SQL-only path through store.library
index.py     LibraryIndex: the thread-safe in-memory index, following the store (refresh)
columns.py   the index's rows: one numpy column per field, category codes, embeddings, int8 codes
facets.py    filter masks and multi-select facet counts in one pass
meaning.py   cosine similarities, the int8 scan with its error bound, settling rows to float32
postings.py  full-text matching and BM25 (as FTS5 computes it) over the rows' documents
kernels.py   the numpy/SIMD kernels under them (int8 dots, split scans, top-k, membership)
snapshot.py  the index in versioned files that every API process maps, shared (the index:snapshot job)

Why in memory: a filtered facet query over a million posts is a handful of vectorized
operations on contiguous columns, where SQL needs a GROUP BY per facet, and meaning
search needs every embedding in memory anyway.
"""
