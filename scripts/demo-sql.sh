#!/bin/sh
# The SQL `make demo` feeds to sqlite3 in the sandbox: a table, 10,000 inserts in
# 10 transactions, a few queries and an integrity check.
echo "CREATE TABLE visits(id INTEGER PRIMARY KEY, page TEXT, ms REAL);"
for batch in 0 1 2 3 4 5 6 7 8 9; do
    echo "BEGIN;"
    seq $((batch * 1000)) $((batch * 1000 + 999)) | sed "s|.*|INSERT INTO visits(id, page, ms) VALUES(&, '/page/' \|\| (& % 37), & % 250 + 0.5);|"
    echo "COMMIT;"
done
echo ".mode column"
echo ".headers on"
echo "SELECT count(*) AS rows, round(avg(ms), 2) AS avg_ms FROM visits;"
echo "SELECT page, count(*) AS hits FROM visits GROUP BY page ORDER BY hits DESC, page LIMIT 3;"
echo "PRAGMA integrity_check;"
