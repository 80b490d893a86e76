"""Analysis of lab results: pure pandas from a results folder to frames and a report.

The shared layer under the experiments (each experiment's own analysis lives in its
package, lab/experiments/<name>/): load, stats, content types, quality, scorecard,
report assembly and compare. See README.md.
"""
