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
# Not the checkout's build output (gigabytes) nor its .cargo/ (see below).
KEEPLITE_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude=/target --exclude=/.cargo
KEEPLITE_LICENSE = MIT or Apache-2.0
KEEPLITE_LICENSE_FILES = LICENSE-MIT LICENSE-APACHE

ifeq ($(BR2_PACKAGE_KEEPLITE_TLS),)
KEEPLITE_CARGO_BUILD_OPTS = --no-default-features
KEEPLITE_CARGO_INSTALL_OPTS = --no-default-features
endif

# The cargo infrastructure vendors the crates when it downloads a tarball, and builds
# --offline; a local source is rsynced instead, so vendor here. This also replaces
# keeplite's own .cargo/config.toml, which picks rust-lld and clang for its static
# builds: here Buildroot's cross toolchain links and compiles ring's C.
define KEEPLITE_VENDOR_CRATES
	rm -rf $(@D)/.cargo $(@D)/VENDOR
	mkdir -p $(@D)/.cargo
	cd $(@D) && $(PKG_CARGO_ENV) cargo vendor --locked VENDOR >$(@D)/.cargo/config.toml
endef
KEEPLITE_PRE_BUILD_HOOKS += KEEPLITE_VENDOR_CRATES

# An inert configuration (nothing declared) unless the board's overlay brings one.
define KEEPLITE_INSTALL_DEFAULT_CONF
	test -e $(TARGET_DIR)/etc/keeplite.conf || \
		$(INSTALL) -D -m 0644 $(KEEPLITE_PKGDIR)/keeplite.conf $(TARGET_DIR)/etc/keeplite.conf
endef
KEEPLITE_POST_INSTALL_TARGET_HOOKS += KEEPLITE_INSTALL_DEFAULT_CONF

define KEEPLITE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(KEEPLITE_PKGDIR)/S60keeplite $(TARGET_DIR)/etc/init.d/S60keeplite
endef

$(eval $(cargo-package))
