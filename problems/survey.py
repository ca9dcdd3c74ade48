"""The examples of Baydin, Pearlmutter, Radul and Siskind (2018), "Automatic
Differentiation in Machine Learning: a Survey", JMLR 18(153)."""

from adbench import problem


@problem(name="survey-example", n=2, m=1, x0=[2.0, 5.0], tags=["paper", "scalar"],
         description="ln x1 + x1 x2 - sin x2: the running example of Baydin et al. 2018, "
                     "Tables 2-3")
def survey_example(x, xp):
    """f(x1, x2) = ln(x1) + x1 x2 - sin(x2), at (2, 5): y = 11.652..., grad = (5.5, 1.716...).

    Written in the order of the survey's evaluation trace (Tables 2 and 3), so that
    `adbench trace` numbers the intermediate variables as the paper does:
    v1 = ln v-1, v2 = v-1 v0, v3 = sin v0, v4 = v1 + v2, v5 = v4 - v3.
    """
    v1 = xp.log(x[0])
    v2 = x[0] * x[1]
    v3 = xp.sin(x[1])
    return v1 + v2 - v3


@survey_example.manual
def _(x, xp):
    return [[1 / x[0] + x[1], x[0] - xp.cos(x[1])]]


@problem(name="logistic-map", sizes={"depth": list(range(1, 11))}, n=1, m=1, x0=[0.2],
         tags=["paper", "scalar", "swell", "loop"],
         description="l_1 = x, l_(k+1) = 4 l_k (1 - l_k); returns l_depth: expression swell, "
                     "Baydin et al. 2018, Table 1 and Figure 3")
def logistic_map(x, xp, depth):
    """The logistic map iterated ``depth - 1`` times from l_1 = x (Table 1 of the survey).

    l_4(x) = 64x(1-x)(1-2x)^2(1-8x+8x^2)^2; at x = 0.2, l_4 = 0.28901376 and
    l_4' = 9.0660864.
    """
    value = x[0]
    for _ in range(depth - 1):
        value = 4 * value * (1 - value)
    return value


@logistic_map.manual
def _(x, xp, depth):
    value, slope = x[0], 1.0
    for _ in range(depth - 1):
        slope = 4 * (1 - 2 * value) * slope
        value = 4 * value * (1 - value)
    return [[slope]]
