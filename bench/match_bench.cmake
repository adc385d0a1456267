# PDQ matching speed against AVX-512 brute force and FAISS (issue 4). FAISS
# (Debian libfaiss-dev, a static library needing OpenMP and BLAS) is optional:
# without it the FAISS column is left out.
add_executable(match_bench ${CMAKE_CURRENT_LIST_DIR}/match_bench.cc)
target_link_libraries(match_bench PRIVATE custos_match)
find_package(OpenMP QUIET)
find_package(faiss CONFIG QUIET)
if(faiss_FOUND AND OpenMP_CXX_FOUND)
  target_link_libraries(match_bench PRIVATE faiss OpenMP::OpenMP_CXX)
  target_compile_definitions(match_bench PRIVATE CUSTOS_HAVE_FAISS=1)
  message(STATUS "custos: match_bench links FAISS")
else()
  message(STATUS "custos: FAISS not found; match_bench runs without it")
endif()
