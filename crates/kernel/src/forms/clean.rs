//! Reading one submitted value as its kind, with Django's messages: used by site forms and by
//! the admin, so a number, a date or a choice is refused with the same words everywhere.

use chrono::NaiveDate;

use super::{Decimal, UploadedFile};
use crate::i18n::Tr;

/// "This field is required."
pub fn required(tr: &Tr) -> String {
    tr.t("This field is required.").to_owned()
}

/// Checks a text's length in characters.
pub fn max_length(value: &str, max: usize, tr: &Tr) -> Result<(), String> {
    let length = value.chars().count();
    if length <= max {
        return Ok(());
    }
    Err(tr.n(
        "Ensure this value has at most {n} character (it has {length}).",
        "Ensure this value has at most {n} characters (it has {length}).",
        max as u64,
        &[("length", &length)],
    ))
}

fn bounds<T: PartialOrd + std::fmt::Display + From<i64>>(
    value: T,
    min: Option<i64>,
    max: Option<i64>,
    tr: &Tr,
) -> Result<T, String> {
    if let Some(max) = max
        && value > T::from(max)
    {
        return Err(tr.f("Ensure this value is less than or equal to {limit}.", &[("limit", &max)]));
    }
    if let Some(min) = min
        && value < T::from(min)
    {
        return Err(tr.f("Ensure this value is greater than or equal to {limit}.", &[("limit", &min)]));
    }
    Ok(value)
}

/// A whole number (Django's `IntegerField`: `3` and `3.0` are three), within `min..=max`.
pub fn integer(raw: &str, min: Option<i64>, max: Option<i64>, tr: &Tr) -> Result<i64, String> {
    let raw = raw.trim();
    let digits = match raw.split_once('.') {
        Some((whole, zeros)) if zeros.chars().all(|c| c == '0') => whole,
        _ => raw,
    };
    let value = digits.parse::<i64>().map_err(|_| tr.t("Enter a whole number.").to_owned())?;
    bounds(value, min, max, tr)
}

/// A decimal number (Django's `DecimalField` and `DecimalValidator`), with at most
/// `digits.0` digits of which `digits.1` after the point, within `min..=max`; trailing zeros
/// after the point do not count, and the value is given back at the field's scale.
pub fn decimal(
    raw: &str,
    digits: Option<(u32, u32)>,
    min: Option<i64>,
    max: Option<i64>,
    tr: &Tr,
) -> Result<Decimal, String> {
    let mut value = raw.trim().parse::<Decimal>().map_err(|_| tr.t("Enter a number.").to_owned())?.normalize();
    if let Some((max_digits, places)) = digits {
        let scale = value.scale();
        let significant = value.mantissa().unsigned_abs().checked_ilog10().map_or(1, |n| n + 1);
        let (total, decimals) = if scale > significant { (scale, scale) } else { (significant, scale) };
        let whole = total - decimals;
        if total > max_digits {
            return Err(tr.n(
                "Ensure that there are no more than {n} digit in total.",
                "Ensure that there are no more than {n} digits in total.",
                u64::from(max_digits),
                &[],
            ));
        }
        if decimals > places {
            return Err(tr.n(
                "Ensure that there are no more than {n} decimal place.",
                "Ensure that there are no more than {n} decimal places.",
                u64::from(places),
                &[],
            ));
        }
        if whole > max_digits - places {
            return Err(tr.n(
                "Ensure that there are no more than {n} digit before the decimal point.",
                "Ensure that there are no more than {n} digits before the decimal point.",
                u64::from(max_digits - places),
                &[],
            ));
        }
        value.rescale(places);
    }
    bounds(value, min, max, tr)
}

/// A date as `YYYY-MM-DD` (what `<input type="date">` sends).
pub fn date(raw: &str, tr: &Tr) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| tr.t("Enter a valid date.").to_owned())
}

/// One of a field's own options (Django's `ChoiceField`).
pub fn choice<'a>(raw: &str, mut options: impl Iterator<Item = &'a str>, tr: &Tr) -> Result<(), String> {
    if options.any(|v| v == raw) {
        return Ok(());
    }
    Err(tr.f("Select a valid choice. {value} is not one of the available choices.", &[("value", &raw)]))
}

/// The key of one of the rows offered (Django's `ModelChoiceField`).
pub fn model_choice<'a>(raw: &str, mut options: impl Iterator<Item = &'a str>, tr: &Tr) -> Result<i64, String> {
    match raw.parse::<i64>() {
        Ok(key) if options.any(|v| v == raw) => Ok(key),
        _ => Err(tr.t("Select a valid choice. That choice is not one of the available choices.").to_owned()),
    }
}

/// Whether an upload is a PNG, JPEG, GIF or WebP image by its first bytes (Django's
/// `ImageField` asks Pillow; the picture itself is decoded where it is stored, on the image
/// pool, and refused there with the same message if it does not decode).
pub fn image(file: &UploadedFile, tr: &Tr) -> Result<(), String> {
    use image::ImageFormat as F;
    match image::guess_format(&file.head) {
        Ok(F::Png | F::Jpeg | F::Gif | F::WebP) if file.size > 0 => Ok(()),
        _ => Err(invalid_image(tr)),
    }
}

/// The message for an upload that is not a usable image.
pub fn invalid_image(tr: &Tr) -> String {
    tr.t("Upload a valid image. The file you uploaded was either not an image or a corrupted image.").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr() -> Tr {
        Tr::new(std::sync::Arc::new(crate::i18n::Catalogs::default()), "en")
    }

    #[test]
    fn whole_numbers_as_django_reads_them() {
        let tr = tr();
        assert_eq!(integer("42", None, None, &tr), Ok(42));
        assert_eq!(integer(" 3.00 ", None, None, &tr), Ok(3));
        assert_eq!(integer("-7", Some(-7), Some(7), &tr), Ok(-7));
        assert_eq!(integer("3.5", None, None, &tr), Err("Enter a whole number.".into()));
        assert_eq!(integer("1e3", None, None, &tr), Err("Enter a whole number.".into()));
        assert_eq!(integer("99999999999999999999", None, None, &tr), Err("Enter a whole number.".into()));
        assert_eq!(integer("20", Some(1), Some(20), &tr), Ok(20));
        assert_eq!(integer("21", Some(1), Some(20), &tr), Err("Ensure this value is less than or equal to 20.".into()));
        assert_eq!(
            integer("0", Some(1), Some(20), &tr),
            Err("Ensure this value is greater than or equal to 1.".into())
        );
    }

    #[test]
    fn decimals_count_digits_as_djangos_validator() {
        let tr = tr();
        let d = |raw| decimal(raw, Some((5, 2)), Some(0), None, &tr);
        assert_eq!(d("40").map(|v| v.to_string()), Ok("40.00".into()));
        assert_eq!(d("999.99").map(|v| v.to_string()), Ok("999.99".into()));
        assert_eq!(d("1.50").map(|v| v.to_string()), Ok("1.50".into()));
        assert_eq!(d("1.500").map(|v| v.to_string()), Ok("1.50".into()));
        assert_eq!(d("0.001"), Err("Ensure that there are no more than 2 decimal places.".into()));
        assert_eq!(d("1000"), Err("Ensure that there are no more than 3 digits before the decimal point.".into()));
        assert_eq!(d("1234.567"), Err("Ensure that there are no more than 5 digits in total.".into()));
        assert_eq!(d("-1"), Err("Ensure this value is greater than or equal to 0.".into()));
        for bad in ["", "abc", "NaN", "1,5", "Infinity"] {
            assert_eq!(d(bad), Err("Enter a number.".into()), "{bad}");
        }
    }

    #[test]
    fn choices_and_dates() {
        let tr = tr();
        assert_eq!(choice("b", ["a", "b"].into_iter(), &tr), Ok(()));
        assert_eq!(
            choice("z", ["a", "b"].into_iter(), &tr),
            Err("Select a valid choice. z is not one of the available choices.".into())
        );
        assert_eq!(model_choice("2", ["1", "2"].into_iter(), &tr), Ok(2));
        assert!(model_choice("3", ["1", "2"].into_iter(), &tr).is_err());
        assert!(model_choice("x", ["x"].into_iter(), &tr).is_err());
        assert_eq!(date("2026-12-07", &tr), Ok(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()));
        assert_eq!(date("2026-02-30", &tr), Err("Enter a valid date.".into()));
    }

    #[test]
    fn images_are_known_by_their_first_bytes() {
        let tr = tr();
        let png =
            UploadedFile::in_memory("photo", "a.png", bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert_eq!(image(&png, &tr), Ok(()));
        let text = UploadedFile::in_memory("photo", "a.png", bytes::Bytes::from_static(b"<svg onload=alert(1)>"));
        assert_eq!(image(&text, &tr), Err(invalid_image(&tr)));
    }
}
