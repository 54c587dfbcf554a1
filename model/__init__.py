"""The models of the chain, one module each; data flows data -> model -> solve -> results.

* :mod:`afforest.model.suitability` - raster overlay of Table 1 -> afforestable area (Table 2 shape).
* :mod:`afforest.model.esv` - equivalent-factor ESV, Eq. 6 -> ESV per ha by province and land type (Table 3).
* :mod:`afforest.model.merit_order` - land classes sorted by ESV; allocation of a desirable area.
* :mod:`afforest.model.steady_state` - analytic steady state of the planner's problem, Eq. 3.
* :mod:`afforest.model.problem` - the one array description of the classes and cells LP/QP (discount weights, planting values).
* :mod:`afforest.model.landuse` - explicit Pyomo dynamic programs (fitted curves: NLP; classes and cells: QP).
* :mod:`afforest.model.formulations` - the registry of switches (and input transforms) on a built model.
* :mod:`afforest.model.cells` - cell tables, size limits, cell-level plans and their duality certificate.
* :mod:`afforest.model.carbon` - Richards growth, biomass and soil carbon, cohort convolution (Eqs. 7-10).
* :mod:`afforest.model.supply_curve` - marginal cost of carbon, supply curve, power-sector benchmarks.
"""
