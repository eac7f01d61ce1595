use super::*;

const TOL: Tolerance = Tolerance {
    atol: 1e-4,
    rtol: 1e-3,
    equal_nan: false,
};

fn out(values: &[f32], tokens: Option<Vec<i64>>) -> Outputs {
    Outputs {
        tensors: vec![OutputTensor::f32("y", &[1, values.len() as i64], values)],
        tokens,
    }
}

fn with(tensors: Vec<OutputTensor>) -> Outputs {
    Outputs {
        tensors,
        tokens: None,
    }
}

fn typed(name: &str, dtype: &str, values: Values) -> OutputTensor {
    OutputTensor {
        name: name.into(),
        shape: vec![values.elements().map_or(1, |n| n as i64)],
        dtype: dtype.into(),
        values,
    }
}

fn f(name: &str, values: &[f64]) -> OutputTensor {
    typed(name, "f64", Values::Float(values.to_vec()))
}

/// The status and the single tensor's finding of comparing `a` with `b` under `tol`.
fn one(a: &[f64], b: &[f64], tol: Tolerance) -> (DriftStatus, TensorDrift) {
    let d = compare(&with(vec![f("y", a)]), &with(vec![f("y", b)]), tol);
    (d.status, d.tensors[0].clone())
}

#[test]
fn the_same_outputs_are_identical_and_say_how_they_were_compared() {
    let a = out(&[1.0, -2.0, -0.0], Some(vec![1, 2]));
    let d = compare(&a, &a.clone(), TOL);
    assert_eq!(d.status, DriftStatus::Identical);
    assert_eq!(d.tokens_identical, Some(true));
    let t = &d.tensors[0];
    assert_eq!(t.max_abs_diff, Some(0.0));
    assert_eq!(t.dtype.as_deref(), Some("f32"));
    assert_eq!(t.compared.as_deref(), Some("isclose atol=1e-4 rtol=1e-3"));
    assert_eq!((t.elements, t.mismatched), (Some(3), Some(0)));
    assert_eq!(
        d.summary(),
        "outputs identical: y (f32, isclose atol=1e-4 rtol=1e-3), same tokens"
    );
}

#[test]
fn small_numeric_noise_is_within_tolerance_and_measured() {
    let d = compare(
        &out(&[1.0, 100.0], None),
        &out(&[1.00005, 100.05], None),
        TOL,
    );
    assert_eq!(d.status, DriftStatus::WithinTolerance, "{d:?}");
    let t = &d.tensors[0];
    assert!((t.max_abs_diff.unwrap() - 0.05).abs() < 1e-4, "{t:?}");
    assert!((t.max_rel_diff.unwrap() - 5e-4).abs() < 1e-5, "{t:?}");
    assert!(
        d.summary()
            == "outputs within tolerance (max abs diff 5.000e-2): y (f32, isclose atol=1e-4 rtol=1e-3)",
        "{}",
        d.summary()
    );
}

#[test]
fn the_relative_tolerance_is_taken_from_a_the_reference_as_numpy_isclose_b_a() {
    let tol = Tolerance {
        atol: 0.0,
        rtol: 0.5,
        equal_nan: false,
    };
    // |2 - 1| = 1 > 0.5 * |1|, though <= 0.5 * |2|: A = 1 is the reference.
    assert_eq!(one(&[1.0], &[2.0], tol).0, DriftStatus::Changed);
    // |1 - 2| = 1 <= 0.5 * |2|.
    assert_eq!(one(&[2.0], &[1.0], tol).0, DriftStatus::WithinTolerance);
}

#[test]
fn an_infinity_is_close_only_to_the_same_infinity() {
    for (a, b) in [
        (f64::INFINITY, 1.0),
        (1.0, f64::INFINITY),
        (f64::INFINITY, f64::NEG_INFINITY),
        (f64::NEG_INFINITY, -1e300),
    ] {
        let (status, t) = one(&[0.5, a], &[0.5, b], TOL);
        assert_eq!(status, DriftStatus::Changed, "{a} vs {b}: {t:?}");
        assert_eq!((t.mismatched, t.inf_mismatched), (Some(1), 1), "{t:?}");
        assert!(t.max_abs_diff.is_some_and(f64::is_finite), "{t:?}");
        assert!(t.finding().contains("1 of 2 elements differ (1 infinite)"));
    }
    for inf in [f64::INFINITY, f64::NEG_INFINITY] {
        let (status, t) = one(&[inf, 1.0], &[inf, 1.0], TOL);
        assert_eq!(status, DriftStatus::Identical, "{t:?}");
        assert_eq!(t.max_abs_diff, Some(0.0));
    }
}

#[test]
fn nan_against_a_number_is_a_change_and_against_nan_only_unless_equal_nan() {
    let (status, t) = one(&[1.0, 2.0], &[1.0, f64::NAN], TOL);
    assert_eq!(status, DriftStatus::Changed);
    assert_eq!((t.mismatched, t.nan_mismatched), (Some(1), 1), "{t:?}");
    let (status, _) = one(&[f64::NAN], &[f64::INFINITY], TOL);
    assert_eq!(status, DriftStatus::Changed);
    let equal_nan = Tolerance {
        equal_nan: true,
        ..TOL
    };
    // NaN on both sides: a change by default (numpy's default), the same with equal_nan.
    let (status, t) = one(&[f64::NAN, 3.0], &[f64::NAN, 3.0], TOL);
    assert_eq!(status, DriftStatus::Changed, "{t:?}");
    assert_eq!(t.nan_mismatched, 1);
    let (status, t) = one(&[f64::NAN, 3.0], &[f64::NAN, 3.0], equal_nan);
    assert_eq!(status, DriftStatus::Identical, "{t:?}");
    assert!(t.compared.as_deref().unwrap().ends_with("equal_nan"));
    // equal_nan does not excuse NaN against a number.
    assert_eq!(one(&[f64::NAN], &[3.0], equal_nan).0, DriftStatus::Changed);
    let d = compare(&out(&[f32::NAN; 4], None), &out(&[1.0; 4], None), TOL);
    assert_eq!(
        d.summary(),
        "outputs changed: y (f32, isclose atol=1e-4 rtol=1e-3): 4 of 4 elements differ (4 NaN)"
    );
}

#[test]
fn integers_are_compared_exactly_whatever_the_float_tolerance() {
    let loose = Tolerance {
        atol: 100.0,
        rtol: 1.0,
        equal_nan: false,
    };
    let a = with(vec![
        typed("ids", "i64", Values::Int(vec![7, 8, 9])),
        f("score", &[1.0]),
    ]);
    let b = with(vec![
        typed("ids", "i64", Values::Int(vec![7, 8, 10])),
        f("score", &[50.0]),
    ]);
    let d = compare(&a, &b, loose);
    assert_eq!(d.status, DriftStatus::Changed, "{d:?}");
    let ids = &d.tensors[0];
    assert_eq!(ids.name, "ids");
    assert_eq!(ids.compared.as_deref(), Some("exact"));
    assert_eq!((ids.mismatched, ids.max_abs_diff), (Some(1), Some(1.0)));
    assert!(!ids.within_tolerance);
    assert!(d.tensors[1].within_tolerance, "{d:?}");
    assert!(
        d.summary()
            .contains("ids (i64, exact): 1 of 3 elements differ"),
        "{}",
        d.summary()
    );
    // Beyond f64's 53 bits: still told apart.
    let big = 1i128 << 60;
    let d = compare(
        &with(vec![typed("u", "u64", Values::Int(vec![big]))]),
        &with(vec![typed("u", "u64", Values::Int(vec![big + 1]))]),
        loose,
    );
    assert_eq!(d.status, DriftStatus::Changed);
}

#[test]
fn booleans_and_strings_are_compared_exactly() {
    let bools = |v: &[bool]| with(vec![typed("mask", "bool", Values::Bool(v.to_vec()))]);
    let d = compare(&bools(&[true, false]), &bools(&[true, true]), TOL);
    assert_eq!(d.status, DriftStatus::Changed);
    assert_eq!(d.tensors[0].mismatched, Some(1));
    let same = compare(&bools(&[true, false]), &bools(&[true, false]), TOL);
    assert_eq!(same.status, DriftStatus::Identical);
    let strings = |v: &[&str]| {
        with(vec![typed(
            "label",
            "string",
            Values::String(v.iter().map(|s| s.to_string()).collect()),
        )])
    };
    let d = compare(&strings(&["cat", "dog"]), &strings(&["cat", "Dog"]), TOL);
    assert_eq!(d.status, DriftStatus::Changed);
    let t = &d.tensors[0];
    assert_eq!(
        (t.compared.as_deref(), t.mismatched),
        (Some("exact"), Some(1))
    );
    assert_eq!(t.max_abs_diff, None);
}

#[test]
fn an_output_that_cannot_be_read_is_listed_as_not_compared_never_dropped() {
    let unread = || {
        typed(
            "c",
            "other",
            Values::NotRead("element type other is not read".into()),
        )
    };
    let alone = compare(&with(vec![unread()]), &with(vec![unread()]), TOL);
    assert_eq!(alone.status, DriftStatus::Unknown);
    assert_eq!(
        alone.summary(),
        "outputs not compared; c (other, not compared: element type other is not read)"
    );
    let mixed = compare(
        &with(vec![unread(), f("y", &[1.0])]),
        &with(vec![unread(), f("y", &[1.0])]),
        TOL,
    );
    assert_eq!(mixed.status, DriftStatus::Identical);
    assert_eq!(mixed.tensors.len(), 2);
    assert!(!mixed.tensors[0].was_compared() && mixed.tensors[1].was_compared());
    assert!(
        mixed.summary()
            == "outputs identical: y (f64, isclose atol=1e-4 rtol=1e-3); c (other, not compared: element type other is not read)",
        "{}",
        mixed.summary()
    );
}

#[test]
fn a_real_change_a_new_shape_a_new_type_a_lost_output_or_other_tokens_is_changed() {
    let a = out(&[1.0, 2.0], Some(vec![5, 6]));
    let bigger = compare(&a, &out(&[1.0, 2.1], Some(vec![5, 6])), TOL);
    assert_eq!(bigger.status, DriftStatus::Changed);
    assert!(
        bigger
            .summary()
            .contains("1 of 2 elements differ, max abs diff 1.000e-1"),
        "{}",
        bigger.summary()
    );
    let reshaped = compare(&a, &out(&[1.0, 2.0, 3.0], Some(vec![5, 6])), TOL);
    assert_eq!(reshaped.status, DriftStatus::Changed);
    assert!(
        reshaped.tensors[0]
            .note
            .as_ref()
            .unwrap()
            .contains("became")
    );
    let mut half = a.clone();
    half.tensors[0].dtype = "f16".into();
    let retyped = compare(&a, &half, TOL);
    assert_eq!(retyped.status, DriftStatus::Changed);
    assert_eq!(retyped.tensors[0].dtype.as_deref(), Some("f32 -> f16"));
    let tokens = compare(&a, &out(&[1.0, 2.0], Some(vec![5, 7])), TOL);
    assert_eq!(tokens.status, DriftStatus::Changed);
    assert_eq!(tokens.tokens_identical, Some(false));
    let lost = compare(&a, &Outputs::default(), TOL);
    assert_eq!(lost.status, DriftStatus::Changed);
    assert_eq!(lost.tensors[0].note.as_deref(), Some("only A produces it"));
}

#[test]
fn nothing_to_compare_is_unknown() {
    let d = compare(&Outputs::default(), &Outputs::default(), TOL);
    assert_eq!(d.status, DriftStatus::Unknown);
}

#[test]
fn a_finding_with_non_finite_values_writes_only_finite_numbers_and_reads_back() {
    let d = compare(
        &with(vec![f("y", &[f64::NAN, f64::INFINITY, 1.0])]),
        &with(vec![f("y", &[1.0, f64::NEG_INFINITY, 1e300])]),
        TOL,
    );
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains("null"), "{text}");
    let back: OutputDrift = serde_json::from_str(&text).unwrap();
    assert_eq!(back, d);
    let t = &back.tensors[0];
    assert_eq!(
        (t.mismatched, t.nan_mismatched, t.inf_mismatched),
        (Some(3), 1, 1)
    );
}

#[test]
fn a_finding_written_before_types_and_methods_were_recorded_still_reads() {
    let old = r#"{"status":"changed","tolerance":{"atol":0.0001,"rtol":0.001},
        "tensors":[{"name":"y","max_abs_diff":0.1,"max_rel_diff":0.05,"within_tolerance":false}],
        "fails_check":true}"#;
    let d: OutputDrift = serde_json::from_str(old).unwrap();
    assert!(!d.tolerance.equal_nan);
    assert_eq!(d.tensors[0].dtype, None);
    assert!(d.tensors[0].was_compared());
    assert!(
        d.summary().contains("y: max abs diff 1.000e-1"),
        "{}",
        d.summary()
    );
}
