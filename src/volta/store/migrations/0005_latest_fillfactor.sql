-- Version 5: `latest_by_vehicle` pages are filled to half, so that an update fits on its row's
-- page (a HOT update: no new index entry, the dead version pruned on the page itself).
--
-- Every commit rewrites the row of each vehicle in it. On full pages (fillfactor 100) the new
-- version went to another page with a new key-index entry, and the table and its index grew
-- until autovacuum came by: on a fresh database, the first minute of a fleet. Measured with
-- 2,000 vehicles, six rounds of 100-sample batches: 7-20 % of the updates HOT and the heap
-- 182 -> 912 pages at fillfactor 100; at 50, every update HOT and the heap steady at 400
-- pages. A row is ~700 bytes for 20 signals; the table doubles, to ~14 MB for 10,000 cars.
-- Pages written before this migration keep their fill until the table is rewritten.

ALTER TABLE latest_by_vehicle SET (fillfactor = 50);
