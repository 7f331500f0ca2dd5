//! The fitted model on raw inputs: `p = sigmoid(w · x + b)`. This is what `model.bst`
//! holds and what serving evaluates; standardisation is already folded into `w` and `b`.

use serde::{Deserialize, Serialize};

/// A logistic regression over the six raw model inputs.
///
/// Weights and bias are held at `f32` precision, the precision XGBoost's `gblinear` stores,
/// so the model in memory and the model in `model.bst` are the same numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// One weight per input, in [`fsdemo_core::MODEL_INPUTS`] order.
    pub weights: [f64; 6],
    /// The intercept, on the margin (log-odds) scale.
    pub bias: f64,
}

impl LinearModel {
    /// A model from raw-scale weights and bias, rounded to `f32` precision.
    pub fn new(weights: [f64; 6], bias: f64) -> LinearModel {
        LinearModel { weights: weights.map(to_f32_precision), bias: to_f32_precision(bias) }
    }

    /// Folds a model fitted on standardised inputs `(x - mean) / scale` into one on raw
    /// inputs: `w_j = beta_j / scale_j`, `b = beta_0 - sum_j beta_j * mean_j / scale_j`.
    pub fn from_standardised(
        coefficients: &[f64; 6],
        intercept: f64,
        mean: &[f64; 6],
        scale: &[f64; 6],
    ) -> LinearModel {
        let weights: [f64; 6] = std::array::from_fn(|j| coefficients[j] / scale[j]);
        let shift: f64 = (0..6).map(|j| weights[j] * mean[j]).sum();
        LinearModel::new(weights, intercept - shift)
    }

    /// The log-odds `w · x + b` of a filled input row.
    pub fn margin(&self, inputs: &[f64; 6]) -> f64 {
        self.weights.iter().zip(inputs).map(|(w, x)| w * x).sum::<f64>() + self.bias
    }

    /// The probability of a repurchase within 14 days for a filled input row.
    pub fn predict(&self, inputs: &[f64; 6]) -> f64 {
        sigmoid(self.margin(inputs))
    }
}

/// The logistic function, written so neither branch overflows.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn to_f32_precision(value: f64) -> f64 {
    value as f32 as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_standardisation_gives_the_same_margin_on_raw_inputs() {
        let (beta, intercept) = ([0.5, -1.0, 0.25, 0.0, 2.0, -0.75], -3.0);
        let mean = [1.0, 2.0, 50.0, 20.0, 400.0, 3.0];
        let scale = [0.5, 1.5, 80.0, 10.0, 900.0, 2.0];
        let raw = [2.0, 1.0, 130.0, 65.0, 12.0, 4.0];

        let model = LinearModel::from_standardised(&beta, intercept, &mean, &scale);

        let standardised: f64 =
            (0..6).map(|j| beta[j] * (raw[j] - mean[j]) / scale[j]).sum::<f64>() + intercept;
        assert!((model.margin(&raw) - standardised).abs() < 1e-5);
    }

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-800.0) >= 0.0 && sigmoid(-800.0) < 1e-300);
        assert_eq!(sigmoid(800.0), 1.0);
    }

    #[test]
    fn weights_are_kept_at_f32_precision() {
        let model = LinearModel::new([0.1; 6], 0.1);

        assert_eq!(model.bias, 0.1f32 as f64);
        assert!(model.weights.iter().all(|&w| w as f32 as f64 == w));
    }
}
