//! The mask brush: round dabs, soft edged below full hardness, spaced a quarter of the brush
//! apart along a stroke, painting white or (erasing) clearing it.

use web_sys::CanvasRenderingContext2d;

use super::model::Stroke;

/// Paints one round dab of `stroke` at `(x, y)`.
pub(super) fn dab(ctx: &CanvasRenderingContext2d, stroke: &Stroke, (x, y): (f64, f64)) {
    let radius = (stroke.size / 2.0).max(0.5);
    let _ = ctx.set_global_composite_operation(if stroke.erase { "destination-out" } else { "source-over" });
    ctx.begin_path();
    let _ = ctx.arc(x, y, radius, 0.0, std::f64::consts::TAU);
    if stroke.hardness >= 0.99 {
        ctx.set_fill_style_str("#fff");
    } else if let Ok(gradient) = ctx.create_radial_gradient(x, y, radius * stroke.hardness, x, y, radius) {
        let _ = gradient.add_color_stop(0.0, "rgba(255,255,255,1)");
        let _ = gradient.add_color_stop(1.0, "rgba(255,255,255,0)");
        ctx.set_fill_style_canvas_gradient(&gradient);
    }
    ctx.fill();
    let _ = ctx.set_global_composite_operation("source-over");
}

/// Paints `stroke` from `from` to `to` with dabs a quarter of the brush apart.
pub(super) fn segment(ctx: &CanvasRenderingContext2d, stroke: &Stroke, from: (f64, f64), to: (f64, f64)) {
    let distance = (to.0 - from.0).hypot(to.1 - from.1);
    let spacing = (stroke.size / 4.0).max(1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let dabs = (distance / spacing).ceil() as usize;
    for i in 1..=dabs {
        #[allow(clippy::cast_precision_loss)]
        let t = i as f64 / dabs as f64;
        dab(ctx, stroke, (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t));
    }
}

/// Paints the whole of `stroke`.
pub(super) fn paint(ctx: &CanvasRenderingContext2d, stroke: &Stroke) {
    if let Some(&first) = stroke.points.first() {
        dab(ctx, stroke, first);
    }
    for pair in stroke.points.windows(2) {
        segment(ctx, stroke, pair[0], pair[1]);
    }
}
