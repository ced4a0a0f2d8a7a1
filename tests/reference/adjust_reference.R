# Reference values for the nonresponse adjustment (src/stats/adjust), from R survey 4.1 (Debian
# r-cran-survey): a stratified design post-stratified to the frame counts of its weighting
# classes (stratum × month of closing). Response rates differ by stratum (e-mail answers far
# more often than phone), and the strata differ in mean score, so the adjustment moves the mean.
# Run from the repository root: Rscript tests/reference/adjust_reference.R
# It writes adjust_reference.csv (respondents), adjust_frame.csv (frame counts) and prints the
# values the tests compare with (kept in adjust_reference.txt).
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust", digits = 17)
set.seed(311)
strata <- data.frame(
  direction = c("TP", "TP", "ENV", "ENV"),
  channel = c("phone", "email", "phone", "email"),
  rate = c(0.10, 0.50, 0.20, 0.50),     # sampling rate (π)
  answer = c(0.15, 0.60, 0.25, 0.55),   # response rate
  centre = c(6.5, 9.0, 7.5, 8.5)        # mean score
)
months <- c("2026-01", "2026-02")
rows <- list(); frame <- list()
for (s in seq_len(nrow(strata))) for (m in months) {
  N <- round(runif(1, 300, 900))
  sampled <- rbinom(1, N, strata$rate[s])
  answered <- rbinom(1, sampled, strata$answer[s])
  score <- pmin(10, pmax(0, round(rnorm(answered, strata$centre[s], 1.8))))
  frame[[length(frame) + 1]] <- data.frame(direction = strata$direction[s], channel = strata$channel[s], month = m, requests = N)
  rows[[length(rows) + 1]] <- data.frame(
    direction = strata$direction[s], channel = strata$channel[s], month = m,
    stratum = paste0(strata$direction[s], ":", strata$channel[s]),
    score = score, weight = 1 / strata$rate[s])
}
d <- do.call(rbind, rows); f <- do.call(rbind, frame)
write.csv(d, "tests/reference/adjust_reference.csv", row.names = FALSE, quote = FALSE)
write.csv(f, "tests/reference/adjust_frame.csv", row.names = FALSE, quote = FALSE)
d$class <- paste(d$direction, d$channel, d$month)
f$class <- paste(f$direction, f$channel, f$month)
d$satisfied <- as.numeric(d$score >= 8)
d$np <- as.numeric(d$score >= 9) - as.numeric(d$score <= 6)
des <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
ps <- postStratify(des, ~class, data.frame(class = f$class, Freq = f$requests))
p <- function(label, x) cat(label, sprintf("%.17g", x), "\n")
cat("n", nrow(d), "\n"); cat("degf", degf(ps), "\n")
p("population", sum(weights(ps)))
m <- svymean(~score, des); p("design mean", coef(m)); p("design se", SE(m))
m <- svymean(~score, ps); p("adjusted mean", coef(m)); p("adjusted se", SE(m))
s <- svymean(~satisfied, ps); p("adjusted satisfied", coef(s)); p("adjusted satisfied se", SE(s))
n <- svymean(~np, ps); p("adjusted nps", 100 * coef(n)); p("adjusted nps se", 100 * SE(n))
b <- svyby(~score, ~direction, ps, svymean); p("adjusted by direction", coef(b)); p("adjusted by direction se", SE(b))
b <- svyby(~score, ~channel, ps, svymean); p("adjusted by channel", coef(b)); p("adjusted by channel se", SE(b))
b <- svyby(~score, ~month, ps, svymean); p("adjusted by month", coef(b)); p("adjusted by month se", SE(b))
m <- svymean(~score, des, deff = TRUE); p("design deff", deff(m))
m <- svymean(~score, ps, deff = TRUE); p("adjusted deff", deff(m))
