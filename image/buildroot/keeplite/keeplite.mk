################################################################################
#
# keeplite
#
################################################################################

KEEPLITE_VERSION = 0.1.0
# The sources: the keeplite checkout this folder belongs to (image/buildroot/keeplite).
# For a copy of this folder elsewhere, point KEEPLITE_OVERRIDE_SRCDIR at a checkout
# (in local.mk).
KEEPLITE_SITE = $(KEEPLITE_PKGDIR)/../../..
KEEPLITE_SITE_METHOD = local
# Not the checkout's build output (gigabytes) nor its .cargo/: keeplite's own picks
# rust-lld and clang for its static builds, while here Buildroot's cross toolchain links
# and compiles ring's C; the vendored crates' .cargo/config.toml takes its place.
KEEPLITE_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude=/target --exclude=/.cargo
KEEPLITE_LICENSE = MIT or Apache-2.0
KEEPLITE_LICENSE_FILES = LICENSE-MIT LICENSE-APACHE

# The cargo infrastructure sets opt-level, lto and codegen-units from Buildroot's
# options (BR2_OPTIMIZE_*, BR2_ENABLE_LTO, 16 units); keeplite's release profile, which
# its size figures are for, comes back here.
KEEPLITE_CARGO_ENV = \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
	CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1

ifeq ($(BR2_PACKAGE_KEEPLITE_TLS),)
KEEPLITE_CARGO_BUILD_OPTS = --no-default-features
KEEPLITE_CARGO_INSTALL_OPTS = --no-default-features
endif

# The crates are vendored in the download step (see below); the rsynced tree gets them,
# with the .cargo/config.toml that points cargo at them, so the build runs offline.
define KEEPLITE_UNPACK_CRATES
	$(TAR) -xzf $(KEEPLITE_VENDOR_ARCHIVE) -C $(@D)
endef
KEEPLITE_POST_RSYNC_HOOKS += KEEPLITE_UNPACK_CRATES

# An inert configuration (nothing declared) unless the board's overlay brings one.
define KEEPLITE_INSTALL_DEFAULT_CONF
	test -e $(TARGET_DIR)/etc/keeplite.conf || \
		$(INSTALL) -D -m 0644 $(KEEPLITE_PKGDIR)/keeplite.conf \
		$(TARGET_DIR)/etc/keeplite.conf
endef
KEEPLITE_POST_INSTALL_TARGET_HOOKS += KEEPLITE_INSTALL_DEFAULT_CONF

define KEEPLITE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(KEEPLITE_PKGDIR)/S60keeplite \
		$(TARGET_DIR)/etc/init.d/S60keeplite
endef

$(eval $(cargo-package))

# The download step of a local site does nothing, so keeplite's crates are vendored here,
# where the cargo infrastructure vendors those of a downloaded archive: by host-rustc's
# cargo (PATH from TARGET_MAKE_ENV), into the package's download directory, named after
# Cargo.lock. make keeplite-source and make source fetch them; a build without them
# fetches them first, before the rsync.
ifeq ($(BR2_PACKAGE_KEEPLITE),y)
KEEPLITE_VENDOR_ARCHIVE = $(KEEPLITE_DL_DIR)/keeplite-vendor-$(KEEPLITE_LOCK_HASH).tar.gz
KEEPLITE_LOCK_HASH := \
	$(shell sha256sum $(KEEPLITE_OVERRIDE_SRCDIR)/Cargo.lock 2>/dev/null | cut -c1-16)
KEEPLITE_VENDOR_TMP = $(KEEPLITE_DL_DIR)/keeplite-vendor.tmp

$(KEEPLITE_VENDOR_ARCHIVE): | host-rustc
	rm -rf $(KEEPLITE_VENDOR_TMP)
	mkdir -p $(KEEPLITE_VENDOR_TMP)/.cargo $(BR_CARGO_HOME)
	cd $(KEEPLITE_VENDOR_TMP) && $(TARGET_MAKE_ENV) $(PKG_COMMON_CARGO_ENV) \
		flock $(BR_CARGO_HOME)/.br-lock cargo vendor --locked \
		--manifest-path $(KEEPLITE_OVERRIDE_SRCDIR)/Cargo.toml VENDOR \
		>$(KEEPLITE_VENDOR_TMP)/.cargo/config.toml
	$(TAR) -czf $@.tmp -C $(KEEPLITE_VENDOR_TMP) .cargo VENDOR
	mv $@.tmp $@
	rm -rf $(KEEPLITE_VENDOR_TMP)

keeplite-source keeplite-all-source: $(KEEPLITE_VENDOR_ARCHIVE)
$(KEEPLITE_TARGET_RSYNC): | $(KEEPLITE_VENDOR_ARCHIVE)
endif
