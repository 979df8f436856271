//! Plans and what each one unlocks: the single table that the server enforces and the UI shows
//! (the `/upgrade` page, disabled controls). Change a limit here and both follow.

use serde::{Deserialize, Serialize};

/// A subscription plan, in ascending order: `Free < Pro < Studio < Enterprise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// 100 images a month.
    Free,
    /// 1,000 images a month, saved workflows.
    Pro,
    /// 5,000 images a month, custom models.
    Studio,
    /// By contract; unlimited unless the contract sets a quota.
    Enterprise,
}

/// What a plan allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanLimits {
    /// Images per month by default (`None`: unlimited).
    pub monthly_images: Option<i32>,
    /// Largest width and height, in pixels.
    pub max_side: u32,
    /// Most denoising steps per image.
    pub max_steps: u32,
    /// Most images per request.
    pub max_batch: u32,
    /// Queue priority (higher runs first).
    pub queue_priority: i16,
    /// Most generation jobs queued or running at once (SECURITY.md 38).
    pub max_active_jobs: u32,
    /// Most images kept in the gallery, generated and uploaded (`None`: by contract).
    pub storage_images: Option<u64>,
    /// Most bytes of image files kept (`None`: by contract) (SECURITY.md 37).
    pub storage_bytes: Option<u64>,
    /// May save and load generation presets (`/workflows`).
    pub workflows: bool,
    /// May manage custom models (`/models`).
    pub custom_models: bool,
}

/// Bytes in a gibibyte, for storage budgets.
pub const GIB: u64 = 1 << 30;

impl Plan {
    /// Every plan, cheapest first.
    pub const ALL: [Self; 4] = [Self::Free, Self::Pro, Self::Studio, Self::Enterprise];

    /// The plan's limits.
    #[must_use]
    pub const fn limits(self) -> PlanLimits {
        match self {
            Self::Free => PlanLimits {
                monthly_images: Some(100),
                max_side: 768,
                max_steps: 30,
                max_batch: 1,
                queue_priority: 0,
                max_active_jobs: 3,
                storage_images: Some(1_000),
                storage_bytes: Some(GIB),
                workflows: false,
                custom_models: false,
            },
            Self::Pro => PlanLimits {
                monthly_images: Some(1000),
                max_side: 1024,
                max_steps: 50,
                max_batch: 4,
                queue_priority: 1,
                max_active_jobs: 5,
                storage_images: Some(20_000),
                storage_bytes: Some(25 * GIB),
                workflows: true,
                custom_models: false,
            },
            Self::Studio => PlanLimits {
                monthly_images: Some(5000),
                max_side: 1536,
                max_steps: 100,
                max_batch: 8,
                queue_priority: 2,
                max_active_jobs: 10,
                storage_images: Some(100_000),
                storage_bytes: Some(250 * GIB),
                workflows: true,
                custom_models: true,
            },
            Self::Enterprise => PlanLimits {
                monthly_images: None,
                max_side: 2048,
                max_steps: 150,
                max_batch: 16,
                queue_priority: 3,
                max_active_jobs: 20,
                storage_images: None,
                storage_bytes: None,
                workflows: true,
                custom_models: true,
            },
        }
    }

    /// The name stored in `users.subscription_plan`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Studio => "studio",
            Self::Enterprise => "enterprise",
        }
    }

    /// The plan a stored name denotes.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|plan| plan.as_str() == name)
    }

    /// The name people read.
    #[must_use]
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::Free => "Free",
            Self::Pro => "Pro",
            Self::Studio => "Studio",
            Self::Enterprise => "Enterprise",
        }
    }

    /// The cheapest plan whose limits satisfy `allows`, if any: the plan a gate names when it
    /// refuses ("requires Pro").
    #[must_use]
    pub fn cheapest_where(allows: impl Fn(&PlanLimits) -> bool) -> Option<Self> {
        Self::ALL.into_iter().find(|plan| allows(&plan.limits()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_follow_the_seed_documents() {
        let quotas: Vec<_> = Plan::ALL.iter().map(|p| p.limits().monthly_images).collect();
        assert_eq!(quotas, [Some(100), Some(1000), Some(5000), None]);
    }

    #[test]
    fn every_limit_grows_or_stays_with_the_plan() {
        for pair in Plan::ALL.windows(2) {
            let (lower, higher) = (pair[0].limits(), pair[1].limits());
            assert!(pair[0] < pair[1]);
            assert!(higher.max_side >= lower.max_side && higher.max_steps >= lower.max_steps);
            assert!(higher.max_batch >= lower.max_batch && higher.queue_priority > lower.queue_priority);
            assert!(higher.max_active_jobs >= lower.max_active_jobs && lower.max_active_jobs >= 1);
            let at_least = |h: Option<u64>, l: Option<u64>| h.is_none() || h >= l;
            assert!(at_least(higher.storage_images, lower.storage_images));
            assert!(at_least(higher.storage_bytes, lower.storage_bytes));
            assert!(higher.workflows >= lower.workflows && higher.custom_models >= lower.custom_models);
        }
    }

    #[test]
    fn gates_name_the_cheapest_plan_that_opens_them() {
        assert_eq!(Plan::cheapest_where(|l| l.workflows), Some(Plan::Pro));
        assert_eq!(Plan::cheapest_where(|l| l.custom_models), Some(Plan::Studio));
        assert_eq!(Plan::cheapest_where(|l| l.max_steps >= 60), Some(Plan::Studio));
        assert_eq!(Plan::cheapest_where(|l| l.max_batch >= 100), None);
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Some(plan));
        }
        assert_eq!(Plan::parse("gold"), None);
    }
}
