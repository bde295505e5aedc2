#!/bin/busybox sh
# Init of the User-mode Linux guest of make test-linux (hostfs root).
# The order matters: UML delivers the rpmsg receive path in hard-IRQ
# context, so the backend announces its services only once /ready exists
# (nothing else is starting then), and the rpmsg drivers are loaded only
# after the channels exist (their probe then runs in process context).
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
# (CONFIG_DEVTMPFS_MOUNT has usually mounted /dev already.)
$bb grep -q " /dev " /proc/mounts || $bb mount -t devtmpfs dev /dev
# Waits up to $2 tenths of a second for the shell test $1 to hold.
wait_for() {
    n=0
    while ! eval "$1"; do
        n=$((n + 1))
        [ $n -gt "$2" ] && return 1
        $bb usleep 100000
    done
}
have_channel() { $bb ls /sys/bus/rpmsg/devices/ 2>/dev/null | $bb grep -q "\.$1\."; }
echo "amp-init: ready, burst ${amp_burst:-50000}"
$bb touch /ready
if wait_for 'have_channel rpmsg-raw && have_channel rpmsg-client-sample' 100; then
    echo "amp-init: both channels exist"
    for m in rpmsg_char rpmsg_ctrl rpmsg_client_sample; do
        $bb insmod /modules/$m.ko || echo "amp-init: FAIL insmod $m"
    done
    # The sample's 100 messages run first, alone: its replies are sent from
    # the receive interrupt, which must not find the transmit mutex taken by
    # a process - not even by its own probe's first send (kicked with the
    # mutex held): the backend answers only once this file exists. It
    # destroys the sample's channel after the 100th message.
    $bb touch /sample-probed
    if wait_for '! have_channel rpmsg-client-sample' 100; then
        /amp-rpmsg-check "${amp_burst:-50000}"
    else
        echo "amp-init: FAIL the rpmsg-client-sample channel is still there"
    fi
else
    echo "amp-init: FAIL the channels did not appear"
fi
echo "amp-init: done"
$bb poweroff -f
