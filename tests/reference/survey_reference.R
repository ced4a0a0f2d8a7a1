# Reference values for src/stats tests, from R survey 4.1 (Debian r-cran-survey).
# Run from the repository root: Rscript tests/reference/survey_reference.R
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust", digits = 17)
d <- read.csv("tests/reference/survey_reference.csv")
d$satisfied <- as.numeric(d$score >= 8); d$top2 <- as.numeric(d$score >= 9); d$detr <- as.numeric(d$score <= 6)
d$np <- d$top2 - d$detr
des <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
cat("degf", degf(des), "\n")
p <- function(label, x) cat(label, sprintf("%.17g", x), "\n")
m <- svymean(~score, des); p("mean", coef(m)); p("se", SE(m)); p("ci", confint(m, df = degf(des)))
for (v in c("satisfied", "top2", "detr")) {
  f <- as.formula(paste0("~", v))
  ci <- svyciprop(f, des, method = "logit", level = 0.95)
  p(paste(v, "est"), coef(ci)); p(paste(v, "se"), SE(ci)); p(paste(v, "ci"), attr(ci, "ci"))
}
n <- svymean(~np, des); p("nps", 100 * coef(n)); p("nps se", 100 * SE(n))
b <- svyby(~score, ~direction, des, svymean); p("by dir mean", coef(b)); p("by dir se", SE(b))
bc <- svyby(~score, ~channel, des, svymean); p("by channel mean", coef(bc)); p("by channel se", SE(bc))
bsec <- svyby(~score, ~direction, des, svymean); 
for (dirn in c("ENV", "SEC", "TP")) {
  sub <- subset(des, direction == dirn)
  ci <- svyciprop(~satisfied, sub, method = "logit", df = degf(des)); p(paste(dirn, "satisfied"), c(coef(ci), SE(ci), attr(ci, "ci")))
  nn <- svymean(~np, sub); p(paste(dirn, "nps"), c(100 * coef(nn), 100 * SE(nn)))
}
# TP vs ENV, design-based difference
ct <- svycontrast(b, quote(TP - ENV)); p("TP-ENV diff", coef(ct)); p("TP-ENV se", SE(ct))
# Month 2022-01 vs 2022-02
bm <- svyby(~score, ~month, des, svymean); p("by month", coef(bm)); p("by month se", SE(bm))
cm <- svycontrast(bm, quote(`2022-01` - `2022-02`)); p("month diff", coef(cm)); p("month diff se", SE(cm))
# Unweighted
tt <- t.test(d$score); p("uw mean", tt$estimate); p("uw ci", tt$conf.int)
w <- t.test(d$score[d$direction == "TP"], d$score[d$direction == "ENV"]); p("welch", c(w$statistic, w$parameter, w$p.value, w$conf.int))
pt <- prop.test(sum(d$satisfied), nrow(d), correct = FALSE); p("wilson", pt$conf.int)
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust", digits = 17)
d <- read.csv("tests/reference/survey_reference.csv")
des <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
p <- function(label, x) cat(label, sprintf("%.17g", x), "\n")
bm <- svyby(~score, ~month, des, svymean, covmat = TRUE)
cm <- svycontrast(bm, quote(`2022-01` - `2022-02`)); p("month diff", coef(cm)); p("month diff se", SE(cm))
b <- svyby(~score, ~direction, des, svymean, covmat = TRUE)
ct <- svycontrast(b, quote(TP - ENV)); p("TP-ENV diff", coef(ct)); p("TP-ENV se", SE(ct))
bdc <- svyby(~score, ~direction+channel, des, svymean); p("dc", coef(bdc)); p("dc se", SE(bdc))
# Edge: all the same score
d2 <- d; d2$score <- 8
des2 <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d2)
m2 <- svymean(~score, des2); p("same mean", c(coef(m2), SE(m2)))
