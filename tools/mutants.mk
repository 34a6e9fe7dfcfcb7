# make mutants: the mutation check (tools/mutants.pl, list in
# tools/mutants.txt).  Included by the Makefile.  Each mutant is built in
# a copy of the tree and run against the tests it names (unit tests,
# integration files under one MPM, the program's tests); fails if any
# survives, does not build, or no longer matches its source.  Not in CI:
# see docs/testing.md for its last result and wall time.
#
#   make mutants                      every mutant
#   make mutants MUTANTS='a,b'        only those
#   make mutants-check                only: does every pattern still match once?

MUTANTS ?=
MUTANTS_MPM ?= event

.PHONY: mutants mutants-check

mutants: deps-test deps-build
	nice -n 10 perl tools/mutants.pl --mpm $(MUTANTS_MPM) $(if $(MUTANTS),--only $(MUTANTS))

mutants-check:
	perl tools/mutants.pl --check
