//! The page's sections in reading order: their anchor ids, titles, and the command that
//! produces each when a run left it out. One table, so the page, the navigation and the
//! tests agree on every id.

/// One section of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The pipeline's steps with status, duration and resources.
    Pipeline,
    /// One customer's timeline, and what a naive join would leak.
    PointInTime,
    /// Online against offline values, and served against offline predictions.
    Agreement,
    /// Curves, calibration and weights of the model.
    Model,
    /// Label rate per day and feature distributions.
    Data,
    /// Online latency and throughput.
    Speed,
}

impl Section {
    /// Every section, in the order the page shows them.
    pub const ALL: [Section; 6] = [
        Section::Pipeline,
        Section::PointInTime,
        Section::Agreement,
        Section::Model,
        Section::Data,
        Section::Speed,
    ];

    /// The section element's `id`, the anchor the navigation links to.
    pub fn id(self) -> &'static str {
        match self {
            Section::Pipeline => "pipeline",
            Section::PointInTime => "point-in-time",
            Section::Agreement => "agreement",
            Section::Model => "model",
            Section::Data => "data",
            Section::Speed => "speed",
        }
    }

    /// The heading, numbered as the issue lists the sections.
    pub fn title(self) -> &'static str {
        match self {
            Section::Pipeline => "1. The pipeline",
            Section::PointInTime => "2. Point in time, made visible",
            Section::Agreement => "3. Training and serving agree",
            Section::Model => "4. The model",
            Section::Data => "5. The data",
            Section::Speed => "6. Online speed",
        }
    }

    /// The short label used in the navigation bar.
    pub fn short(self) -> &'static str {
        match self {
            Section::Pipeline => "Pipeline",
            Section::PointInTime => "Point in time",
            Section::Agreement => "Agreement",
            Section::Model => "Model",
            Section::Data => "Data",
            Section::Speed => "Speed",
        }
    }
}

/// The commands that record each part of the report, as the page names them.
///
/// Limitation: these are the `fsdemo` subcommand names the report assumes; the binary owns
/// its command line, so a renamed subcommand must be renamed here too.
pub mod produced_by {
    /// Runs every step and records the pipeline, tables, model and agreement checks.
    pub const DEMO: &str = "fsdemo demo";
    /// Trains, evaluates and registers the model.
    pub const TRAIN: &str = "fsdemo train";
    /// Compares online values with the newest offline rows.
    pub const VERIFY: &str = "fsdemo featurestore verify";
    /// Calls the endpoint for the demo's customers.
    pub const PREDICT: &str = "fsdemo demo (its online predictions step)";
    /// Measures online latency and throughput.
    pub const BENCH: &str = "fsdemo bench online";
}
