# Reference values for cxr-stats part B from R: pwr, stats::power.prop.test, stats::pt
# (noncentral t), and mice (Rubin's rules via pool.scalar; the distribution of pooled
# estimates over seeds for the chained-equations imputation).
#
# Writes crates/cxr-stats/tests/reference/b_r_reference.json. Regenerate (Debian):
#
#     apt-get install -y --no-install-recommends r-base-core r-cran-mice r-cran-pwr r-cran-jsonlite
#     Rscript scripts/reference/stats_reference_b.R
#
# Run from the repository root. Takes about a minute (40 mice runs).

suppressPackageStartupMessages({
  library(pwr)
  library(mice)
  library(jsonlite)
})

out <- file.path("crates", "cxr-stats", "tests", "reference", "b_r_reference.json")
tol <- 1e-12
# pwr 1.3 solves for n with uniroot's default tolerance (~1e-4); solve its own power
# function to 1e-12 instead.
solve_n <- function(power_of_n, target, lower)
  uniroot(function(n) power_of_n(n) - target, c(lower, 1e9), tol = tol,
          extendInt = "upX")$root

# ---- power --------------------------------------------------------------------------
ttest_power <- lapply(list(c(0.5, 64, 0.05), c(0.2, 100, 0.05), c(0.8, 10.5, 0.01),
                           c(1.5, 4, 0.05), c(0.3, 500, 0.1)), function(x)
  list(d = x[1], n = x[2], alpha = x[3],
       power = pwr.t.test(d = x[1], n = x[2], sig.level = x[3])$power))
ttest_n <- lapply(list(c(0.5, 0.05, 0.8), c(0.2, 0.05, 0.9), c(0.8, 0.01, 0.95),
                       c(1.0, 0.05, 0.95)), function(x)
  list(d = x[1], alpha = x[2], power = x[3],
       n = solve_n(function(n) pwr.t.test(d = x[1], n = n, sig.level = x[2])$power, x[3],
                   2 + 1e-10)))
two_p <- lapply(list(c(0.581, 0.496, 200, 0.05), c(0.516, 0.44, 150, 0.05),
                     c(0.8, 0.9, 100, 0.01)), function(x) {
  h <- ES.h(x[1], x[2])
  list(p1 = x[1], p2 = x[2], n = x[3], alpha = x[4], h = h,
       power = pwr.2p.test(h = h, n = x[3], sig.level = x[4])$power,
       n_for_power_0.9 = solve_n(function(n) pwr.2p.test(h = h, n = n, sig.level = x[4])$power,
                                 0.9, 2 + 1e-10))
})
prop_test <- lapply(list(c(0.581, 0.496, 200, 0.05), c(0.8, 0.9, 100, 0.01),
                         c(0.5, 0.75, 30, 0.05)), function(x)
  list(p1 = x[1], p2 = x[2], n = x[3], alpha = x[4],
       power = power.prop.test(n = x[3], p1 = x[1], p2 = x[2], sig.level = x[4])$power,
       n_for_power_0.9 = power.prop.test(p1 = x[1], p2 = x[2], power = 0.9,
                                         sig.level = x[4], tol = tol)$n))
nct <- lapply(list(c(1.0, 10, 0.5), c(-1.0, 10, 0.5), c(2.5, 5, 3), c(1.96, 126, 2.83),
                   c(-2, 30, -1), c(0, 7, 1.2), c(4, 3.5, 1), c(10, 50, 8)), function(x)
  list(t = x[1], df = x[2], ncp = x[3], cdf = pt(x[1], x[2], ncp = x[3])))

# ---- Rubin's rules -------------------------------------------------------------------
rubin <- lapply(list(
  list(q = c(1.2, 1.5, 0.9, 1.1, 1.4), u = c(0.04, 0.05, 0.045, 0.038, 0.052), n = 100, k = 2),
  list(q = c(10.1, 9.7, 10.4), u = c(1.1, 0.9, 1.2), n = Inf, k = 1),
  list(q = c(-0.3, -0.31, -0.29, -0.3, -0.305, -0.298, -0.302, -0.3, -0.301, -0.299),
       u = rep(0.01, 10), n = 30, k = 3),
  list(q = c(2, 2, 2), u = c(0.5, 0.5, 0.5), n = 50, k = 2)  # b = 0: lambda floored
), function(x) {
  p <- pool.scalar(x$q, x$u, n = x$n, k = x$k)
  list(q = x$q, u = x$u, dfcom = if (is.finite(x$n)) x$n - x$k else NULL,
       qbar = p$qbar, ubar = p$ubar, b = p$b, t = p$t, df = p$df, r = p$r, fmi = p$fmi)
})

# ---- mice: distribution of pooled estimates over seeds --------------------------------
set.seed(20200716)
n <- 400
covid <- rbinom(n, 1, 0.25)
male <- rbinom(n, 1, plogis(-0.2 + 0.6 * covid))
age <- round(50 + 12 * covid + 3 * male + rnorm(n, 0, 14), 1)
# MAR: age more often missing among males, male more often missing among covid
age_na <- runif(n) < ifelse(male == 1, 0.25, 0.10)
male_na <- runif(n) < ifelse(covid == 1, 0.20, 0.08)
age[age_na] <- NA
male[male_na] <- NA
data <- data.frame(age = age, male = factor(male), covid = covid)

runs <- lapply(1:40, function(s) {
  imp <- mice(data, m = 10, maxit = 10, method = c("pmm", "logreg", ""), seed = 1000 + s,
              printFlag = FALSE)
  fit_age <- summary(pool(with(imp, lm(age ~ covid))))
  fit_male <- summary(pool(with(imp, lm(as.numeric(as.character(male)) ~ 1))))
  c(age_covid = fit_age$estimate[2], age_covid_se = fit_age$std.error[2],
    age_covid_df = fit_age$df[2], male_mean = fit_male$estimate[1],
    male_mean_se = fit_male$std.error[1])
})
runs <- do.call(rbind, runs)
summ <- lapply(colnames(runs), function(cn)
  list(mean = mean(runs[, cn]), sd = sd(runs[, cn])))
names(summ) <- colnames(runs)
cc <- summary(lm(age ~ covid, data = data))$coefficients

res <- list(
  meta = list(generator = "scripts/reference/stats_reference_b.R",
              R = paste(R.version$major, R.version$minor, sep = "."),
              pwr = as.character(packageVersion("pwr")),
              mice = as.character(packageVersion("mice"))),
  ttest_power = ttest_power, ttest_n = ttest_n, two_proportion = two_p,
  power_prop_test = prop_test, nct_cdf = nct, rubin = rubin,
  mice = list(
    data = list(age = data$age, male = as.numeric(as.character(data$male)), covid = data$covid),
    settings = list(m = 10, maxit = 10, runs = 40, methods = c("pmm", "logreg", "")),
    complete_case_age_covid = cc[2, 1:2],
    pooled = summ
  )
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           out)
cat("wrote", out, "\n")
