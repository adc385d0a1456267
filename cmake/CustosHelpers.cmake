# custos_cc_library(NAME n SRCS ... HDRS ... DEPS ...): a static library custos_<n>.
# custos_cc_test(NAME n SRCS ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest.
# Every dependency edge is explicit, after abseil's absl_cc_library.
function(custos_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  add_library(custos_${A_NAME} STATIC ${A_SRCS} ${A_HDRS})
  target_link_libraries(custos_${A_NAME} PUBLIC ${A_DEPS})
  target_include_directories(custos_${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# The shared reference material (../shared beside the project root, or
# $CUSTOS_SHARED_DIR at configure time).
if(DEFINED ENV{CUSTOS_SHARED_DIR} AND NOT "$ENV{CUSTOS_SHARED_DIR}" STREQUAL "")
  set(CUSTOS_SHARED_DIR "$ENV{CUSTOS_SHARED_DIR}")
else()
  set(CUSTOS_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared")
endif()

function(custos_cc_test)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT CUSTOS_BUILD_TESTS)
    return()
  endif()
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set(labels unit)
  if(A_LABELS)
    set(labels ${A_LABELS})
  endif()
  add_test(NAME ${A_NAME} COMMAND ${A_NAME})
  set_tests_properties(${A_NAME} PROPERTIES LABELS "${labels}"
    ENVIRONMENT "CUSTOS_SHARED_DIR=${CUSTOS_SHARED_DIR};CUSTOS_BIN=${PROJECT_BINARY_DIR}/tools/custos")
endfunction()
