"""Reports: data read from the other packages, rendered as PDF, CSV or XLSX.

Reports only read; they never change stock or cases.
"""
