"""The serving layer's pure computations: what both programs compute the same way (docs/serving.md).

The engine derives the tables the pages read with these functions at ingest; the dashboard uses them
for the reads the tables do not hold (as-of dates). Pure: pandas and numpy, no SQL, no Dash.
"""
