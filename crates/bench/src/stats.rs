//! Order statistics for repeated measurements.
//!
//! The machine is a shared 2-core VM, so single samples are noise: every
//! figure the harness prints is a median with its min and max.

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The middle sample (mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// How many samples were summarised.
    pub n: usize,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none or one is NaN.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let sorted = sorted(samples)?;
        Some(Summary {
            median: median_of_sorted(&sorted),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            n: sorted.len(),
        })
    }

    /// A summary of one sample (for quantities measured once per process).
    pub fn single(value: f64) -> Summary {
        Summary { median: value, min: value, max: value, n: 1 }
    }
}

fn sorted(samples: &[f64]) -> Option<Vec<f64>> {
    if samples.is_empty() || samples.iter().any(|x| x.is_nan()) {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    Some(v)
}

fn median_of_sorted(v: &[f64]) -> f64 {
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The median of `samples`; `None` when empty or containing NaN.
pub fn median(samples: &[f64]) -> Option<f64> {
    sorted(samples).map(|v| median_of_sorted(&v))
}

/// The nearest-rank `p`-th percentile (`0 < p <= 100`) of `samples`:
/// the smallest sample that is at least `p`% of the samples. Used for tail
/// latency (p99.9 of batch times), where interpolating would invent values.
/// `None` when empty, containing NaN, or `p` outside `(0, 100]`.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    if !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let v = sorted(samples)?;
    // The epsilon keeps float error (0.999 * 1000 = 999.0000000000001) from
    // bumping an exact rank to the next one.
    let rank = ((p / 100.0) * v.len() as f64 - 1e-9).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_and_unsorted() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn summary_min_max() {
        let s = Summary::of(&[5.0, 9.0, 1.0, 3.0, 7.0]).unwrap();
        assert_eq!(s, Summary { median: 5.0, min: 1.0, max: 9.0, n: 5 });
        assert_eq!(Summary::single(2.0).n, 1);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(500.0));
        assert_eq!(percentile(&v, 99.9), Some(999.0));
        assert_eq!(percentile(&v, 100.0), Some(1000.0));
        assert_eq!(percentile(&[4.0, 2.0], 1.0), Some(2.0));
        assert_eq!(percentile(&v, 0.0), None);
        assert_eq!(percentile(&v, 101.0), None);
        assert_eq!(percentile(&[], 50.0), None);
    }
}
