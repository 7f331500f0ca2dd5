//! `data generate`: a synthetic theLook export in the BigQuery table layout (`users`,
//! `products`, `orders`, `order_items` as gzip CSV with headers), so a fresh clone runs the
//! demo with no download. The same seed writes the same files.
//!
//! Shaped like the real export in `../shared/thelook/` (its shares measured there):
//! - orders per user 0 to 4 with the real shares (20% none, 50% one, 20% two, 5% three,
//!   5% four); about 10% of repeat gaps are under 14 days, the rest weeks to years
//!   (log-normal, median about 200 days);
//! - first orders grow toward "now" (exponentially, doubling about every ten months), over
//!   six years of history; the newest 30 days carry microseconds, older times whole minutes;
//! - 1 to 4 items per order (70/20/5/5%), each a product of the catalog, sold at its retail
//!   price (log-normal, median about 40, as the real catalog);
//! - the real status mix (Shipped 30%, Complete 25%, Processing 20%, Cancelled 15%,
//!   Returned 10%), independent of the order's age.
//!
//! Limitation: names, addresses and lifecycle times are placeholders; only the columns the
//! pipeline reads are meant to be realistic.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// The "now" of a generated export: the newest possible order time, fixed so that a seed
/// always writes the same files (the real export's horizon).
pub const GENERATED_NOW: &str = "2025-01-25 19:35:00 UTC";

/// Products in the catalog, as many as the real one has.
const PRODUCTS: u32 = 29_120;

/// Years of order history before "now".
const HISTORY_YEARS: f64 = 6.0;

/// The e-folding time of first-order volume, in years (doubling about every 10 months).
const GROWTH_YEARS: f64 = 1.2;

/// Shares of users with 0, 1, 2, 3 and 4 orders.
const ORDERS_PER_USER: [f64; 5] = [0.201, 0.503, 0.198, 0.048, 0.050];

/// Shares of orders with 1, 2, 3 and 4 items.
const ITEMS_PER_ORDER: [f64; 4] = [0.699, 0.201, 0.050, 0.050];

/// Statuses and their shares.
const STATUSES: [(&str, f64); 5] = [
    ("Shipped", 0.298),
    ("Complete", 0.251),
    ("Processing", 0.201),
    ("Cancelled", 0.149),
    ("Returned", 0.101),
];

const CATEGORIES: [&str; 8] = [
    "Intimates",
    "Jeans",
    "Tops & Tees",
    "Fashion Hoodies & Sweatshirts",
    "Swim",
    "Sleep & Lounge",
    "Accessories",
    "Outerwear & Coats",
];
const BRANDS: [&str; 6] = ["Allegra K", "Calvin Klein", "Carhartt", "Hanes", "Levi's", "Nike"];
const TRAFFIC: [&str; 5] = ["Search", "Organic", "Facebook", "Email", "Display"];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Users in the export; about 80% of them order.
    pub users: u32,
    /// The random seed.
    pub seed: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateReport {
    /// The folder written.
    pub dir: PathBuf,
    /// Rows per table.
    pub users: u64,
    /// Products in the catalog.
    pub products: u64,
    /// Orders.
    pub orders: u64,
    /// Order items.
    pub order_items: u64,
    /// The seed used.
    pub seed: u64,
}

/// One generated order, before it is written.
struct Order {
    created: DateTime<Utc>,
    status: &'static str,
    items: u32,
}

/// Writes a synthetic export into `dir` (created if missing), replacing the four files.
pub fn generate(dir: &Path, options: &GenerateOptions) -> Result<GenerateReport, DataError> {
    let now = fsdemo_core::time::parse_timestamp(GENERATED_NOW)
        .and_then(DateTime::from_timestamp_micros)
        .expect("GENERATED_NOW is a valid timestamp");
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;

    let prices = write_products(dir, &mut rng)?;
    let mut users = CsvGz::create(&dir.join("users.csv.gz"), USERS_HEADER)?;
    let mut orders = CsvGz::create(&dir.join("orders.csv.gz"), ORDERS_HEADER)?;
    let mut items = CsvGz::create(&dir.join("order_items.csv.gz"), ITEMS_HEADER)?;
    let (mut order_id, mut item_id) = (0u64, 0u64);

    for user_id in 1..=u64::from(options.users) {
        let gender = if rng.random_bool(0.5) { "F" } else { "M" };
        let history = order_history(&mut rng, now);
        let signup = signup_time(&mut rng, now, history.first().map(|o| o.created));
        users.write(&user_row(&mut rng, user_id, gender, signup))?;

        for order in history {
            order_id += 1;
            let times = lifecycle(&mut rng, &order, now);
            orders.write(&[
                order_id.to_string(),
                user_id.to_string(),
                order.status.into(),
                gender.into(),
                timestamp(order.created),
                times.returned.clone(),
                times.shipped.clone(),
                times.delivered.clone(),
                order.items.to_string(),
            ])?;
            for _ in 0..order.items {
                item_id += 1;
                let product = rng.random_range(0..prices.len());
                items.write(&[
                    item_id.to_string(),
                    order_id.to_string(),
                    user_id.to_string(),
                    (product + 1).to_string(),
                    item_id.to_string(),
                    order.status.into(),
                    timestamp(order.created),
                    times.shipped.clone(),
                    times.delivered.clone(),
                    times.returned.clone(),
                    prices[product].to_string(),
                ])?;
            }
        }
    }

    users.finish()?;
    orders.finish()?;
    items.finish()?;
    let report = GenerateReport {
        dir: dir.into(),
        users: options.users.into(),
        products: PRODUCTS.into(),
        orders: order_id,
        order_items: item_id,
        seed: options.seed,
    };
    tracing::info!(
        dir = %dir.display(), users = report.users, orders = report.orders,
        order_items = report.order_items, seed = report.seed, "synthetic export generated"
    );
    Ok(report)
}

/// A user's orders, oldest first, all at or before `now`.
fn order_history(rng: &mut ChaCha8Rng, now: DateTime<Utc>) -> Vec<Order> {
    let count = pick(rng, &ORDERS_PER_USER);
    let gaps = LogNormal::new((200.0f64).ln(), 0.9).expect("valid log-normal");

    // A sequence that runs past now is drawn again, a few times, before it is cut at now.
    let mut times = Vec::new();
    for _ in 0..5 {
        times.clear();
        let mut time = first_order_time(rng, now);
        for i in 0..count {
            if i > 0 {
                let days = if rng.random_bool(0.10) {
                    rng.random_range(0.05..14.0)
                } else {
                    gaps.sample(rng)
                };
                time += Duration::seconds((days * 86_400.0) as i64);
            }
            times.push(time);
        }
        if times.last().is_none_or(|t| *t <= now) {
            break;
        }
    }
    times.retain(|t| *t <= now);

    times
        .into_iter()
        .map(|time| Order {
            created: precision(rng, time, now),
            status: STATUSES[pick(rng, &STATUSES.map(|(_, share)| share))].0,
            items: pick(rng, &ITEMS_PER_ORDER) as u32 + 1,
        })
        .collect()
}

/// A first-order time over the history, denser toward now (inverse of the exponential CDF).
fn first_order_time(rng: &mut ChaCha8Rng, now: DateTime<Utc>) -> DateTime<Utc> {
    let u: f64 = rng.random();
    let span = HISTORY_YEARS / GROWTH_YEARS;
    let years_after_start = GROWTH_YEARS * (1.0 + u * (span.exp() - 1.0)).ln();
    let years_before_now = HISTORY_YEARS - years_after_start;
    let minutes = (years_before_now * 365.25 * 24.0 * 60.0) as i64;
    now - Duration::minutes(minutes) - Duration::seconds(rng.random_range(0..60))
}

/// Signup: up to a year before the first order, or any time for users who never order.
fn signup_time(
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    first: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let start = now - Duration::days((HISTORY_YEARS * 365.25) as i64);
    match first {
        Some(first) => (first - Duration::minutes(rng.random_range(0..525_600))).max(start),
        None => start + Duration::minutes(rng.random_range(0..(now - start).num_minutes())),
    }
}

/// Shipped, delivered and returned times as text, empty where they would be after now.
struct Lifecycle {
    shipped: String,
    delivered: String,
    returned: String,
}

fn lifecycle(rng: &mut ChaCha8Rng, order: &Order, now: DateTime<Utc>) -> Lifecycle {
    let at = |time: DateTime<Utc>| if time <= now { timestamp(time) } else { String::new() };
    let shipped = order.created + Duration::minutes(rng.random_range(60..4_320));
    let delivered = shipped + Duration::minutes(rng.random_range(1_440..7_200));
    let returned = delivered + Duration::minutes(rng.random_range(1_440..14_400));
    let (ships, delivers, returns) = match order.status {
        "Shipped" => (true, false, false),
        "Complete" => (true, true, false),
        "Returned" => (true, true, true),
        _ => (false, false, false),
    };
    Lifecycle {
        shipped: if ships { at(shipped) } else { String::new() },
        delivered: if delivers { at(delivered) } else { String::new() },
        returned: if returns { at(returned) } else { String::new() },
    }
}

/// As the real export: whole minutes, but microseconds in the last 30 days before `now`.
fn precision(rng: &mut ChaCha8Rng, time: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let minute = time
        - Duration::seconds(time.timestamp().rem_euclid(60))
        - Duration::nanoseconds(time.timestamp_subsec_nanos().into());
    if now - time > Duration::days(30) {
        return minute;
    }
    let recent = minute + Duration::microseconds(rng.random_range(1..60_000_000));
    recent.min(now)
}

/// theLook's timestamp text: `2024-03-07 20:15:00 UTC`, with `.ffffff` when it has them.
fn timestamp(time: DateTime<Utc>) -> String {
    if time.timestamp_subsec_micros() == 0 {
        time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        time.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string()
    }
}

/// An index drawn with the given shares.
fn pick(rng: &mut ChaCha8Rng, shares: &[f64]) -> usize {
    let total: f64 = shares.iter().sum();
    let mut draw = rng.random::<f64>() * total;
    for (i, share) in shares.iter().enumerate() {
        if draw < *share {
            return i;
        }
        draw -= share;
    }
    shares.len() - 1
}

const USERS_HEADER: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "email",
    "age",
    "gender",
    "state",
    "street_address",
    "postal_code",
    "city",
    "country",
    "latitude",
    "longitude",
    "traffic_source",
    "created_at",
    "user_geom",
];
const PRODUCTS_HEADER: &[&str] = &[
    "id",
    "cost",
    "category",
    "name",
    "brand",
    "retail_price",
    "department",
    "sku",
    "distribution_center_id",
];
const ORDERS_HEADER: &[&str] = &[
    "order_id",
    "user_id",
    "status",
    "gender",
    "created_at",
    "returned_at",
    "shipped_at",
    "delivered_at",
    "num_of_item",
];
const ITEMS_HEADER: &[&str] = &[
    "id",
    "order_id",
    "user_id",
    "product_id",
    "inventory_item_id",
    "status",
    "created_at",
    "shipped_at",
    "delivered_at",
    "returned_at",
    "sale_price",
];

fn user_row(rng: &mut ChaCha8Rng, id: u64, gender: &str, signup: DateTime<Utc>) -> Vec<String> {
    let mut row = vec![String::new(); USERS_HEADER.len()];
    row[0] = id.to_string();
    row[1] = "Customer".into();
    row[2] = format!("No{id}");
    row[3] = format!("customer{id}@example.com");
    row[4] = rng.random_range(12..71).to_string();
    row[5] = gender.into();
    row[10] = "United States".into();
    row[13] = TRAFFIC[rng.random_range(0..TRAFFIC.len())].into();
    row[14] = signup.format("%Y-%m-%d %H:%M:00 UTC").to_string();
    row
}

/// Writes the catalog and returns each product's retail price (product id = index + 1).
fn write_products(dir: &Path, rng: &mut ChaCha8Rng) -> Result<Vec<f64>, DataError> {
    let prices_dist = LogNormal::new((40.0f64).ln(), 0.9).expect("valid log-normal");
    let mut products = CsvGz::create(&dir.join("products.csv.gz"), PRODUCTS_HEADER)?;
    let mut prices = Vec::with_capacity(PRODUCTS as usize);

    for id in 1..=PRODUCTS {
        let price = (prices_dist.sample(rng).clamp(1.5, 999.0) * 100.0).round() / 100.0;
        let cost = price * rng.random_range(0.35..0.6);
        let department = if rng.random_bool(0.55) { "Women" } else { "Men" };
        products.write(&[
            id.to_string(),
            format!("{cost:.4}"),
            CATEGORIES[rng.random_range(0..CATEGORIES.len())].into(),
            format!("Product {id}"),
            BRANDS[rng.random_range(0..BRANDS.len())].into(),
            price.to_string(),
            department.into(),
            format!("{:032X}", rng.random::<u128>()),
            rng.random_range(1..=10).to_string(),
        ])?;
        prices.push(price);
    }
    products.finish()?;
    Ok(prices)
}

/// A gzip CSV file being written.
struct CsvGz {
    path: PathBuf,
    writer: csv::Writer<GzEncoder<BufWriter<File>>>,
}

impl CsvGz {
    fn create(path: &Path, header: &[&str]) -> Result<CsvGz, DataError> {
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let gzip = GzEncoder::new(BufWriter::with_capacity(1 << 16, file), Compression::fast());
        let mut writer = csv::Writer::from_writer(gzip);
        writer.write_record(header).map_err(|e| csv_error(path, e))?;
        Ok(CsvGz { path: path.into(), writer })
    }

    fn write(&mut self, row: &[String]) -> Result<(), DataError> {
        self.writer.write_record(row).map_err(|e| csv_error(&self.path, e))
    }

    fn finish(self) -> Result<(), DataError> {
        let path = self.path;
        let gzip = self.writer.into_inner().map_err(|e| io_error(&path, e.into_error()))?;
        let mut file = gzip.finish().map_err(|e| io_error(&path, e))?;
        file.flush().map_err(|e| io_error(&path, e))
    }
}

fn io_error(path: &Path, error: std::io::Error) -> DataError {
    DataError::File { step: "generate", path: path.into(), message: error.to_string() }
}

fn csv_error(path: &Path, error: csv::Error) -> DataError {
    DataError::File { step: "generate", path: path.into(), message: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> Vec<csv::StringRecord> {
        let file = flate2::read::MultiGzDecoder::new(File::open(path).unwrap());
        csv::Reader::from_reader(file).records().map(Result::unwrap).collect()
    }

    #[test]
    fn same_seed_writes_the_same_files_and_another_seed_does_not() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let options = GenerateOptions { users: 300, seed: 7 };

        generate(a.path(), &options).unwrap();
        generate(b.path(), &options).unwrap();
        generate(c.path(), &GenerateOptions { seed: 8, ..options }).unwrap();

        let orders = |dir: &Path| std::fs::read(dir.join("orders.csv.gz")).unwrap();
        assert_eq!(orders(a.path()), orders(b.path()));
        assert_ne!(orders(a.path()), orders(c.path()));
    }

    #[test]
    fn shape_follows_the_real_export() {
        let dir = tempfile::tempdir().unwrap();
        let report = generate(dir.path(), &GenerateOptions { users: 5_000, seed: 1 }).unwrap();
        let orders = read(&dir.path().join("orders.csv.gz"));
        let items = read(&dir.path().join("order_items.csv.gz"));

        let mut per_user = std::collections::HashMap::<&str, usize>::new();
        for order in &orders {
            *per_user.entry(order.get(1).unwrap()).or_default() += 1;
        }
        let without = 1.0 - per_user.len() as f64 / 5_000.0;
        assert!((0.17..0.26).contains(&without), "users without orders: {without}");
        assert!(per_user.values().all(|&n| (1..=4).contains(&n)));

        let cancelled = orders.iter().filter(|o| &o[2] == "Cancelled").count() as f64;
        assert!((0.12..0.18).contains(&(cancelled / orders.len() as f64)), "{cancelled}");
        assert_eq!(items.len() as u64, report.order_items);
        let per_order = items.len() as f64 / orders.len() as f64;
        assert!((1.3..1.6).contains(&per_order), "items per order {per_order}");
        let newest = orders.iter().map(|o| o[4].to_string()).max().unwrap();
        assert!(newest.as_str() <= GENERATED_NOW && newest.contains('.'), "{newest}");
    }

    #[test]
    fn recent_orders_outnumber_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &GenerateOptions { users: 3_000, seed: 3 }).unwrap();
        let orders = read(&dir.path().join("orders.csv.gz"));

        let in_year = |year: &str| orders.iter().filter(|o| o[4].starts_with(year)).count();

        assert!(
            in_year("2024") > 2 * in_year("2021"),
            "{} vs {}",
            in_year("2024"),
            in_year("2021")
        );
    }

    #[test]
    fn sale_price_is_the_products_retail_price() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &GenerateOptions { users: 200, seed: 5 }).unwrap();
        let products = read(&dir.path().join("products.csv.gz"));
        let items = read(&dir.path().join("order_items.csv.gz"));

        for item in items.iter().take(200) {
            let product: usize = item[3].parse().unwrap();
            assert_eq!(&item[10], &products[product - 1][5]);
        }
    }
}
