# pROC reference values for crates/cxr-stats (called by stats_reference.py, which documents
# how to regenerate). Usage: Rscript stats_reference.R datasets.json proc.json
suppressMessages({
  library(pROC)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
input <- fromJSON(args[1], simplifyVector = TRUE)
out <- list(versions = list(pROC = as.character(packageVersion("pROC")), R = R.version.string),
            binary = list())

best <- function(r, method, weights) {
  co <- coords(r, "best", best.method = method, best.weights = weights,
               ret = c("threshold", "sensitivity", "specificity"), transpose = FALSE)
  list(threshold = co$threshold, sensitivity = co$sensitivity, specificity = co$specificity)
}

for (name in names(input$binary)) {
  d <- input$binary[[name]]
  y <- as.integer(d$labels)
  r <- roc(y, d$scores, levels = c(0, 1), direction = "<", quiet = TRUE)
  e <- list(auc = as.numeric(auc(r)))
  if (sum(y) >= 2 && sum(1 - y) >= 2) {
    ci <- ci.auc(r, method = "delong", conf.level = 0.95)
    e$delong_var <- var(r, method = "delong")
    e$delong_ci95 <- c(ci[1], ci[3])
  }
  e$best <- list(
    youden = best(r, "youden", c(1, 0.5)),
    closest_topleft = best(r, "closest.topleft", c(1, 0.5)),
    youden_w_5_05 = best(r, "youden", c(5, 0.5)),
    closest_topleft_w_02_02 = best(r, "closest.topleft", c(0.2, 0.2))
  )
  out$binary[[name]] <- e
}

p <- input$paired
y <- as.integer(p$labels)
ra <- roc(y, p$a, levels = c(0, 1), direction = "<", quiet = TRUE)
rb <- roc(y, p$b, levels = c(0, 1), direction = "<", quiet = TRUE)
t <- roc.test(ra, rb, method = "delong", paired = TRUE)
out$paired <- list(auc_a = as.numeric(auc(ra)), auc_b = as.numeric(auc(rb)),
                   var_a = var(ra), var_b = var(rb), cov_ab = cov(ra, rb),
                   z = unname(t$statistic), p_value = t$p.value,
                   conf_int = as.numeric(t$conf.int))
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = TRUE), args[2])
