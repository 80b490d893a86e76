"""The course: questions as data (assignment/), lab.submit, lab.grade and the class report."""
